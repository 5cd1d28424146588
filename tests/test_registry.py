"""The preset registry (kerasae.presets) against the bundled presets and scripts/evaluate.py;
`Autoencoder.from_preset`; the public names (list_pretrained / list_variants, __all__) and the
lazy package."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from project_scripts import load_script

import kerasae
from kerasae.hub import read_metadata, registry
from kerasae.models import Autoencoder, MaskedAutoencoder, VariationalAutoencoder
from kerasae.presets import EVALUATIONS, RECIPES, recipe
from kerasae.presets.cards import TARGETS, annotate, missed_targets, targets_note
from kerasae.variants import variant_options

ROOT = Path(__file__).resolve().parents[1]


def _jsonable(options: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}


def test_every_bundled_preset_has_the_recipe_its_metadata_records():
    """Fails if a bundled preset has no recipe, or its recipe's variant, build arguments,
    dataset, preprocessing or licence differ from what its metadata.json says it was trained
    with, or its card lacks a metric that its evaluation protocol writes."""
    bundled = registry.bundled_names()
    assert bundled, "no bundled presets found in weights/"
    assert sorted(set(bundled) - set(RECIPES)) == []
    for name in bundled:
        r, meta = recipe(name), read_metadata(registry.bundled_root() / name)
        assert (meta["variant"], meta["dataset"]["name"], meta["licence_id"]) == (
            r.variant, r.dataset["name"], r.licence_id), name
        assert meta["preprocessing"] == r.preprocessing, name
        # Options the preset's network never applied (hidden_units beside a conv network,
        # refused by build since) were recorded at training time; the model's options say
        # which ones it has.
        trained = {k: v for k, v in meta["training"]["recipe"]["build"].items()
                   if k in meta["options"]}
        assert trained == _jsonable(r.build), name
        assert meta["training"]["seed"] == r.seed, name
        missing = set(EVALUATIONS[r.evaluation].metrics) - set(meta["metrics"])
        assert not missing, f"{name}: metrics {sorted(missing)} of {r.evaluation!r} not in card"


def test_every_card_states_what_the_package_declares_for_it():
    """Fails if a bundled card's recipe fields (licence, fine-tuning rate, image preprocessing),
    its metrics' targets and cited references, or its missed-targets note differ from
    kerasae.presets (then run scripts/refresh_cards.py), or a target names a metric the
    preset's evaluation does not write."""
    for name in registry.bundled_names():
        r, meta = recipe(name), read_metadata(registry.bundled_root() / name)
        declared = r.preset_metadata(tuple(meta["input_spec"]["shape"]))
        assert {k: meta.get(k) for k in declared} == declared, name
        assert meta["metrics"] == annotate(name, meta["metrics"]), name
        assert meta["notes"] == targets_note(meta["metrics"]), name
        assert set(TARGETS.get(name, {})) <= set(EVALUATIONS[r.evaluation].metrics), name
        assert meta["parameter_count"] > 0 and meta["date_saved"], name


def test_missed_targets_reads_both_directions():
    found = {"nll": {"value": 86.5, "target": "<= 85.0"}, "auroc": {"value": 0.95,
             "target": ">= 0.93"}, "mse": {"value": 0.1}, "acc": {"value": 0.9,
             "target": ">= 0.97"}}
    assert missed_targets(found) == ["nll = 86.5 misses its target <= 85.0",
                                     "acc = 0.9 misses its target >= 0.97"]
    assert targets_note({"auroc": found["auroc"]}) == (
        "Every target listed in the metrics table is met.")
    assert targets_note(found).startswith("Targets missed after the training in this card: nll")


def test_annotate_sets_declared_targets_and_references_only():
    measured = {"test_nll_nats": {"value": 86.0, "target": "<= 89.5"}, "active_units":
                {"value": 20, "reference": "measured here"}}
    out = annotate("vae_mnist", measured)
    assert out["test_nll_nats"]["target"] == TARGETS["vae_mnist"]["test_nll_nats"]
    assert "Burda et al." in out["test_nll_nats"]["reference"]
    assert out["active_units"] == measured["active_units"]
    assert measured["test_nll_nats"]["target"] == "<= 89.5"  # the argument is not changed


def test_a_saved_preset_records_its_parameter_count_and_date(tmp_path):
    model = kerasae.build("ae", input_shape=(6,), latent_dim=2, hidden_units=(4,))
    meta = read_metadata(kerasae.save_preset(model, tmp_path / "p"))
    assert meta["parameter_count"] == model.count_params()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d", meta["date_saved"])


def test_every_recipe_builds_with_options_its_variant_accepts():
    """Fails if a recipe names an unknown variant, option or evaluation protocol, or an
    optimizer train.py does not know (checked without building the models)."""
    for name, r in RECIPES.items():
        unknown = set(r.build) - set(variant_options(r.variant)) - {"input_shape", "latent_dim"}
        assert not unknown, f"{name}: options {sorted(unknown)} unknown to {r.variant!r}"
        assert r.evaluation in EVALUATIONS, name
        assert r.optimizer in ("adam", "lbfgs"), name
        assert name.startswith(r.variant + "_"), name  # <variant>_<dataset>


def test_evaluate_script_implements_every_protocol():
    """Fails if scripts/evaluate.py lacks a protocol the registry names, or has one it does not."""
    assert sorted(load_script("evaluate").PROTOCOLS) == sorted(EVALUATIONS)


def test_recipe_data_comes_from_the_data_dir(tmp_path, monkeypatch):
    """Fails if a recipe's data function looks anywhere but $KERASAE_DATA_DIR (and the
    dataset's own variable), e.g. a folder beside the checkout."""
    monkeypatch.delenv("KERASAE_MNIST_DIR", raising=False)
    monkeypatch.setenv("KERASAE_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "mnist"))):
        recipe("ae_mnist").data()


def test_unknown_recipe_names_the_close_one():
    with pytest.raises(ValueError, match=r"no recipe for preset 'vae_mnst'.*'vae_mnist'"):
        recipe("vae_mnst")


def test_from_preset_loads_and_checks_the_class():
    """Fails if from_preset does not load as kerasae.load does, or accepts a preset of another
    class."""
    model = VariationalAutoencoder.from_preset("vae_mnist", compile=False)
    assert isinstance(model, VariationalAutoencoder) and model.variant == "vae"
    assert isinstance(Autoencoder.from_preset("vae_mnist"), VariationalAutoencoder)
    with pytest.raises(ValueError, match="expected a MaskedAutoencoder.*VariationalAutoencoder"):
        MaskedAutoencoder.from_preset("vae_mnist")
    with pytest.raises(ValueError, match="unknown preset"):
        Autoencoder.from_preset("vae_mnst")


def test_timm_names_are_the_contract_functions():
    assert kerasae.list_pretrained is kerasae.list_models
    assert kerasae.list_variants is kerasae.variants
    assert "vae_mnist" in kerasae.list_pretrained() and "vae" in kerasae.list_variants()


def test_every_public_name_resolves_and_the_readme_uses_only_those():
    """Fails if a name in __all__ does not resolve, or the README calls a top-level
    `kerasae.NAME` that __all__ does not list."""
    for name in kerasae.__all__:
        assert getattr(kerasae, name) is not None, name
    readme = (ROOT / "README.md").read_text()
    used = set(re.findall(r"\bkerasae\.([A-Za-z_]\w*)", readme))
    assert sorted(used - set(kerasae.__all__) - {"__all__"}) == []


def test_assigning_the_guarded_functions_takes_effect(monkeypatch):
    """Fails if `kerasae.variants = ...` (or export) is ignored, or importing the submodule of
    the same name replaces the function."""
    monkeypatch.setattr(kerasae, "variants", lambda: ["mine"])
    monkeypatch.setattr(kerasae, "export", "replaced")
    assert kerasae.variants() == ["mine"] and kerasae.export == "replaced"
    monkeypatch.undo()
    importlib.import_module("kerasae.variants")
    kerasae.variants = sys.modules["kerasae.variants"]  # what the import system does
    assert callable(kerasae.variants) and "vae" in kerasae.variants()
    assert callable(kerasae.export)
    kerasae.variants = list
    del kerasae.variants  # back to the package's own function
    assert "vae" in kerasae.variants()
    with pytest.raises(AttributeError, match="was not assigned"):
        del kerasae.variants


def test_the_package_and_its_names_list_without_keras():
    probe = ("import sys, kerasae\n"
             "names = dir(kerasae), kerasae.__all__, kerasae.__version__\n"
             "heavy = ('keras', 'tensorflow', 'jax', 'torch')\n"
             "print(sorted(m for m in heavy if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.stdout.strip() == "[]", done.stderr[-2000:]
