"""Presets and the Hub: the preset folder and its model card, atomic saves, sha256-checked loads,
loading on another backend and from an offline Hugging Face cache, bundled names, handles,
publishing (with a fake HfApi: never the network) and fine-tuning lineage.

Runs once per backend. One subprocess (on another backend, offline) serves the cross-backend and
Hugging Face cache tests; everything else runs in this process.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
import yaml
from hub_cache import add_snapshot
from huggingface_hub import ModelCard
from variant_specs import SPECS, fit_inputs, method_kwargs

import kerasae
import kerasae.hub.preset as preset_module
import kerasae.hub.registry as registry_module
from kerasae.hub import IntegrityError, load_preset, read_metadata, resolve, save_preset, zoo
from kerasae.hub.integrity import sha256, verify_files
from kerasae.hub.preset import (
    CARD,
    CONFIG,
    FORMAT_VERSION,
    METADATA,
    OPTIONAL_FILES,
    PICTURES,
    PRESET_FILES,
    WEIGHTS,
)
from kerasae.hub.remote import parse_handle

BACKEND = keras.backend.backend()
# Where a preset saved here is loaded in the subprocess (jax starts fastest; from jax, torch).
OTHER_BACKEND = {"tensorflow": "jax", "jax": "torch", "torch": "jax"}[BACKEND]
N = 6
METRICS = {"mse": {"value": 0.01, "split": "test", "description": "mean squared error"}}
CARD_METADATA = {"metrics": METRICS, "dataset": {"name": "synthetic"}, "tags": ["unit-test"]}
COMMIT = "0123456789abcdef0123456789abcdef01234567"  # refs/main of the cached repo
OLD_COMMIT = "89abcdef0123456789abcdef0123456789abcdef"  # an earlier commit, reached by hash


# ----- helpers ------------------------------------------------------------------------------


def build(name: str, **overrides) -> keras.Model:
    return kerasae.build(name, **{**SPECS[name]["kwargs"], **overrides})


def perturbed(name: str) -> keras.Model:
    """A fresh model of `name` whose trainable weights moved off their initial values (cheaper
    than training it)."""
    model = build(name)
    rng = np.random.default_rng(4)
    for variable in model.trainable_variables:
        value = keras.ops.convert_to_numpy(variable)
        variable.assign(value + 0.05 * rng.standard_normal(value.shape).astype(value.dtype))
    return model


def mid_training(name: str) -> keras.Model:
    """A perturbed model compiled with Adam whose optimiser state exists, as during training
    (what Keras would put in a saved config and weights file unless kerasae leaves it out)."""
    model = perturbed(name)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(7)
    return model


def reconstruct(model, name: str, seed: int = 1) -> np.ndarray:
    x = SPECS[name]["data"](N, seed)
    return model.reconstruct(x, **method_kwargs(name, N, seed))


def weights(model) -> list[np.ndarray]:
    return [np.array(w) for w in model.get_weights()]


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def front_matter(card_text: str) -> dict:
    assert card_text.startswith("---\n"), card_text[:80]
    yaml_text, _ = card_text[len("---\n"):].split("\n---\n", 1)
    return yaml.safe_load(yaml_text)


def hf_cache_repo(cache: Path, repo_id: str, snapshots: dict[str, Path], main: str) -> Path:
    """Presets ({commit: preset folder}) cached as huggingface_hub caches a downloaded repo,
    refs/main holding the `main` commit."""
    for commit, preset in snapshots.items():
        add_snapshot(cache, repo_id, commit, preset, main=main)
    return cache / ("models--" + repo_id.replace("/", "--"))


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def ae_preset(tmp_path_factory) -> Path:
    """A trained ae saved once for the read-only checks (copy it before changing anything)."""
    keras.utils.set_random_seed(0)
    return save_preset(mid_training("ae"), tmp_path_factory.mktemp("ae") / "ae_preset")


@pytest.fixture
def ae_copy(ae_preset, tmp_path) -> Path:
    return Path(shutil.copytree(ae_preset, tmp_path / "ae_preset"))


# ----- the preset folder --------------------------------------------------------------------


def test_save_preset_writes_the_four_files_with_metadata_and_hashes(tmp_path):
    """Fails if a file is missing or extra, a metadata field is absent or wrong, or a recorded
    sha256 does not match the file written."""
    model = build("vae")
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    folder = save_preset(model, tmp_path / "my_vae", metadata=CARD_METADATA)
    assert folder == tmp_path / "my_vae"
    assert sorted(p.name for p in folder.iterdir()) == sorted(PRESET_FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_vae"]  # no temporary folder left

    meta = json.loads((folder / METADATA).read_text())
    assert meta["variant"] == "vae"
    assert meta["name"] == "my_vae"
    assert meta["options"] == model.options
    assert meta["options"]["hidden_units"] == [16]
    assert meta["input_spec"]["shape"] == [16]
    assert meta["input_spec"]["range"] == [0.0, 1.0]  # Bernoulli likelihood: data in [0, 1]
    assert meta["latent_dim"] == 4
    assert meta["kerasae_version"] == kerasae.__version__
    assert meta["keras_version"] == keras.__version__
    assert meta["backend"] == BACKEND
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["metrics"] == METRICS
    assert meta["dataset"] == {"name": "synthetic"}
    assert meta["files"] == {name: sha256(folder / name) for name in (CONFIG, WEIGHTS, CARD)}
    assert meta["files"][WEIGHTS] == hashlib.sha256((folder / WEIGHTS).read_bytes()).hexdigest()
    assert read_metadata(folder) == meta
    config = json.loads((folder / CONFIG).read_text())
    assert config["config"]["variant"] == "vae"
    assert "compile_config" not in config  # no training state (an optimiser class) in a preset

    cvae_meta = json.loads((save_preset(build("cvae"), tmp_path / "c") / METADATA).read_text())
    assert cvae_meta["input_spec"]["condition"] == {"dtype": "int32", "num_classes": 3}


def test_model_card_front_matter_is_what_the_hub_reads(tmp_path):
    """Fails if README.md lacks the YAML front matter, library_name or the tags, or if it puts
    the metrics in a model-index with a task type the Hub does not know (they are in the text,
    with their protocol; tests/test_cards.py checks the rest of the card)."""
    folder = save_preset(build("vae"), tmp_path / "my_vae", metadata=CARD_METADATA)
    text = (folder / CARD).read_text()
    front = front_matter(text)
    assert front["library_name"] == "keras"
    assert {"kerasae", "autoencoder", "vae", "unit-test"} <= set(front["tags"])
    assert "model-index" not in front and "license" not in front  # no licence stated: none given
    assert "| mse | 0.01 |  | test | mean squared error |" in text
    assert 'kerasae.load("my_vae")' in text

    card = ModelCard.load(folder / CARD)  # huggingface_hub's own parser
    assert card.data.library_name == "keras"
    assert card.data.eval_results is None


@pytest.mark.parametrize("failing", ["save_weights", "model_card"])
def test_failed_save_keeps_the_previous_preset(tmp_path, monkeypatch, failing):
    """Fails if a save that breaks midway leaves a half-written folder, damages the preset that
    was there, or leaves its temporary folder beside it."""
    model = build("ae")
    folder = save_preset(model, tmp_path / "preset", metadata={"dataset": {"name": "first"}})
    before = file_bytes(folder)
    model.set_weights([w + 1.0 for w in model.get_weights()])  # the second save would differ

    if failing == "save_weights":
        def broken(self, filepath, *args, **kwargs):
            Path(filepath).write_bytes(b"half an HDF5 file")
            raise OSError("disk full")

        monkeypatch.setattr(keras.Model, "save_weights", broken)
        monkeypatch.setattr(keras.saving, "save_weights", broken)
    else:
        def broken(meta):
            raise OSError("disk full")

        monkeypatch.setattr(preset_module, "model_card", broken)

    with pytest.raises(OSError, match="disk full"):
        save_preset(model, folder, metadata={"dataset": {"name": "second"}})
    assert file_bytes(folder) == before
    verify_files(folder, read_metadata(folder)["files"])
    assert read_metadata(folder)["dataset"] == {"name": "first"}
    assert [p.name for p in tmp_path.iterdir()] == ["preset"]

    with pytest.raises(OSError, match="disk full"):  # no previous folder: none afterwards
        save_preset(model, tmp_path / "fresh")
    assert [p.name for p in tmp_path.iterdir()] == ["preset"]


def test_save_over_an_existing_preset_replaces_it(tmp_path):
    """Fails if saving over a kerasae preset keeps the old weights or leaves temporaries, or if
    saving over a folder holding anything else (a user's file beside a preset included)
    deletes it without overwrite=True."""
    model = build("ae")
    folder = save_preset(model, tmp_path / "preset")
    model.set_weights([w + 1.0 for w in model.get_weights()])
    save_preset(model, folder)  # an earlier preset: replaced without asking
    assert sorted(p.name for p in folder.iterdir()) == sorted(PRESET_FILES)
    np.testing.assert_array_equal(reconstruct(kerasae.load(folder), "ae"),
                                  reconstruct(model, "ae"))

    (folder / "notes.txt").write_text("mine")
    before = file_bytes(folder)
    with pytest.raises(ValueError, match=r"notes\.txt.*overwrite=True"):
        save_preset(model, folder)
    assert file_bytes(folder) == before
    save_preset(model, folder, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == sorted(PRESET_FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["preset"]


def test_save_never_replaces_a_foreign_folder_or_a_file(tmp_path):
    """Fails if save_preset deletes or changes a folder that is not a kerasae preset, or
    replaces a file even with overwrite=True."""
    model = build("ae")
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a kerasae preset"):
        save_preset(model, foreign)
    (tmp_path / "file").write_text("mine")
    with pytest.raises(ValueError, match="is a file.*even with overwrite=True"):
        save_preset(model, tmp_path / "file", overwrite=True)
    assert (foreign / "precious.txt").read_text() == "mine"
    assert (tmp_path / "file").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "photos"]
    (tmp_path / "empty").mkdir()
    save_preset(model, tmp_path / "empty")  # an empty folder holds nothing to lose
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == sorted(PRESET_FILES)


def test_nonfinite_weights_are_neither_saved_nor_loaded(tmp_path):
    """Fails if weights with NaN (a fit on NaN data) are saved, or if a preset whose weights
    file holds NaN (with matching hashes) loads; both errors must name the variable."""
    model = build("ae")
    weights_before = model.get_weights()
    model.set_weights([np.where(i == 0, np.nan, w) for i, w in enumerate(weights_before)])
    with pytest.raises(ValueError, match=r"NaN or infinity \(.*kernel"):
        save_preset(model, tmp_path / "nan")
    assert list(tmp_path.iterdir()) == []

    model.set_weights(weights_before)
    folder = save_preset(model, tmp_path / "preset")
    names: list[str] = []
    with h5py.File(folder / WEIGHTS, "r+") as file:
        file.visititems(lambda name, obj: names.append(name) if isinstance(
            obj, h5py.Dataset) else None)
        file[names[0]][...] = np.inf
    meta = json.loads((folder / METADATA).read_text())
    meta["files"][WEIGHTS] = sha256(folder / WEIGHTS)
    (folder / METADATA).write_text(json.dumps(meta))
    with pytest.raises(IntegrityError, match=r"model\.weights\.h5 holds NaN or infinity"):
        kerasae.load(folder)


def test_dataset_given_as_a_string_is_its_name(tmp_path):
    """Fails if metadata={"dataset": "my data"} raises or is not recorded as the name."""
    folder = save_preset(build("ae"), tmp_path / "p", metadata={"dataset": "my data"})
    assert read_metadata(folder)["dataset"] == {"name": "my data"}
    assert "my data" in (folder / CARD).read_text()


@pytest.mark.parametrize("metadata, message", [
    ([("dataset", "x")], "must be a dict"),
    ({"metrics": [1, 2]}, "'metrics' must be dict"),
    ({"tags": "one"}, "'tags' must be list"),
    ({"metrics": {"mse": 0.1}}, r"metrics\['mse'\] must be a dict"),
])
def test_bad_metadata_argument_is_refused(tmp_path, metadata, message):
    """Fails if save_preset accepts metadata the model card or a later load cannot use, or
    writes anything for it."""
    with pytest.raises(ValueError, match=message):
        save_preset(build("ae"), tmp_path / "p", metadata=metadata)
    assert list(tmp_path.iterdir()) == []


# ----- loading --------------------------------------------------------------------------------


# A penalty, a corruption layer, and the VAE family (conv_ae goes to the other backend below;
# every variant's config round trip is tested in test_serialization.py).
@pytest.mark.parametrize("name", ["sparse_ae", "denoising_ae", "vae", "cvae"])
def test_load_round_trip(tmp_path, name):
    """Fails if a loaded preset differs from the saved model in class, variant, options, outputs
    or objective, or comes back uncompiled or unable to train on this backend."""
    model = perturbed(name)
    folder = save_preset(model, tmp_path / name)
    loaded = kerasae.load(folder)
    assert type(loaded) is type(model)
    assert loaded.variant == name
    assert loaded.options == model.options
    assert loaded.preset_metadata["name"] == name
    np.testing.assert_allclose(reconstruct(loaded, name), reconstruct(model, name), atol=1e-6)
    for got, want in zip(weights(loaded), weights(model), strict=True):
        np.testing.assert_array_equal(got, want)
    if not name.endswith("vae"):  # the VAE objective samples z: compare deterministic ones only
        x = fit_inputs(name, 8, seed=5)
        model.compile(optimizer="adam")
        assert loaded.evaluate(x, verbose=0) == pytest.approx(model.evaluate(x, verbose=0),
                                                              rel=1e-5)

    assert loaded.compiled and loaded.optimizer is not None
    assert int(loaded.optimizer.iterations) == 0  # a fresh optimiser: presets carry none
    before = weights(loaded)
    history = loaded.fit(fit_inputs(name, 8, seed=7), batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])
    assert int(loaded.optimizer.iterations) == 1
    assert any(not np.array_equal(a, b) for a, b in zip(before, weights(loaded), strict=True))

    bare = kerasae.load(folder, compile=False)
    assert not bare.compiled and getattr(bare, "optimizer", None) is None
    np.testing.assert_allclose(reconstruct(bare, name), reconstruct(model, name), atol=1e-6)


def test_weights_file_holds_no_optimiser_state(ae_preset):
    """Fails if the weights file carries optimiser variables (a backend-specific optimiser would
    then travel with the preset)."""
    names: list[str] = []
    with h5py.File(ae_preset / WEIGHTS, "r") as file:
        file.visit(names.append)
    assert names and not any("optimizer" in n for n in names), names


CORRUPTIONS = {
    "flip a byte of the weights": (WEIGHTS, "flip"),
    "truncate the weights": (WEIGHTS, "truncate"),
    "alter the config": (CONFIG, "flip"),
    "delete the weights": (WEIGHTS, "delete"),
    "delete the config": (CONFIG, "delete"),
    "delete the model card": (CARD, "delete"),
    "delete the metadata": (METADATA, "delete"),
    "metadata is not JSON": (METADATA, "garble"),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_damaged_preset_raises_integrity_error_naming_the_file(ae_copy, case):
    """Fails if a damaged preset loads, raises something else than IntegrityError (a
    ValueError), does not name the bad file, or if the failed load changes files on disk."""
    name, how = CORRUPTIONS[case]
    path = ae_copy / name
    if how == "flip":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    elif how == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "delete":
        path.unlink()
    else:
        path.write_text('{"format_version": 1, "files": ')
    before = file_bytes(ae_copy)
    with pytest.raises(IntegrityError, match=name.replace(".", r"\.")) as error:
        kerasae.load(ae_copy)
    assert isinstance(error.value, ValueError)
    if how == "garble":
        assert "not valid JSON" in str(error.value)
    if how in ("flip", "truncate"):
        assert "sha256" in str(error.value)
    assert file_bytes(ae_copy) == before


def test_training_state_in_an_older_preset_is_ignored(ae_copy):
    """Fails if a preset whose config carries Keras' compile config (as kerasae wrote before it
    left it out; here a torch-only optimiser class) comes back compiled with compile=False, or
    with that optimiser instead of a fresh one of this backend."""
    config = json.loads((ae_copy / CONFIG).read_text())
    config["compile_config"] = {
        "optimizer": {"module": "keras.src.backend.torch.optimizers.torch_adam",
                      "class_name": "Adam", "config": {"name": "adam", "learning_rate": 0.5},
                      "registered_name": "Adam"},
        "loss": None, "loss_weights": None, "metrics": None, "weighted_metrics": None,
        "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}
    (ae_copy / CONFIG).write_text(json.dumps(config))
    meta = json.loads((ae_copy / METADATA).read_text())
    meta["files"][CONFIG] = sha256(ae_copy / CONFIG)
    (ae_copy / METADATA).write_text(json.dumps(meta))
    bare = kerasae.load(ae_copy, compile=False)
    assert not bare.compiled and getattr(bare, "optimizer", None) is None
    model = kerasae.load(ae_copy)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(1e-3)
    assert ("torch" in type(model.optimizer).__module__) == (BACKEND == "torch")


def test_newer_format_asks_to_upgrade(ae_copy):
    """Fails if a preset from a newer kerasae loads, or the error does not say to upgrade."""
    meta = json.loads((ae_copy / METADATA).read_text())
    meta["format_version"] = FORMAT_VERSION + 1
    (ae_copy / METADATA).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"(?i)upgrade kerasae") as error:
        kerasae.load(ae_copy)
    assert str(FORMAT_VERSION + 1) in str(error.value)


@pytest.mark.parametrize("version", ["99.0.0", f"0.{int(kerasae.__version__.split('.')[1]) + 1}.0"])
def test_newer_kerasae_version_asks_to_upgrade(ae_copy, version):
    """Fails if a preset written by a newer kerasae (major or minor) loads silently."""
    meta = json.loads((ae_copy / METADATA).read_text())
    meta["kerasae_version"] = version
    (ae_copy / METADATA).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=rf"{version}.*(?i:upgrade kerasae)"):
        kerasae.load(ae_copy)


@pytest.mark.parametrize("field, value, message", [
    (None, [1, 2], "JSON object"),
    (None, None, "JSON object"),
    ("format_version", True, "format_version"),
    ("format_version", -7, "format_version"),
    ("format_version", "1", "format_version"),
    ("kerasae_version", "soon", "kerasae_version"),
    ("metrics", "good", "'metrics'"),
    ("files", None, "'files'"),
    ("dataset", "mnist", "'dataset'"),
])
def test_bad_metadata_file_raises_integrity_error_naming_it(ae_copy, field, value, message):
    """Fails if metadata.json that is valid JSON but not usable preset metadata loads or raises
    anything else than IntegrityError naming the file, or the failed load changes files."""
    meta = json.loads((ae_copy / METADATA).read_text())
    if field is None:
        meta = value
    else:
        meta[field] = value
    (ae_copy / METADATA).write_text(json.dumps(meta))
    before = file_bytes(ae_copy)
    with pytest.raises(IntegrityError, match=message) as error:
        kerasae.load(ae_copy)
    assert str(ae_copy / METADATA) in str(error.value)
    assert file_bytes(ae_copy) == before


# ----- bundled presets and names --------------------------------------------------------------


@pytest.fixture
def bundled(tmp_path, monkeypatch) -> Path:
    """A bundled-presets folder holding one preset, vae_mnist, and a stray non-preset folder."""
    root = tmp_path / "weights"
    save_preset(build("vae"), root / "vae_mnist",
                metadata={"dataset": {"name": "mnist"}, "metrics": METRICS})
    (root / "notes").mkdir()
    monkeypatch.setattr(registry_module, "bundled_root", lambda: root)
    monkeypatch.setattr(zoo, "presets", dict)  # no zoo registry: bundled names only
    return root


def test_bundled_presets_are_listed_described_and_loaded(bundled):
    """Fails if list_models/model_info/load do not use the bundled folder, or list a folder
    that is not a preset."""
    assert kerasae.list_models() == ["vae_mnist"]
    info = kerasae.model_info("vae_mnist")
    assert info["variant"] == "vae"
    assert info["dataset"] == {"name": "mnist"}
    assert info["metrics"] == METRICS
    assert resolve("vae_mnist") == bundled / "vae_mnist"
    model = kerasae.load("vae_mnist")
    want = load_preset(bundled / "vae_mnist")
    np.testing.assert_array_equal(reconstruct(model, "vae"), reconstruct(want, "vae"))
    with pytest.raises(ValueError, match="unknown preset"):
        kerasae.model_info("nope")


def test_unknown_name_suggests_the_close_one(bundled):
    """Fails if a misspelt preset name does not raise a ValueError naming the close name."""
    with pytest.raises(ValueError, match=r"Did you mean 'vae_mnist'\?"):
        kerasae.load("vae_mnsit")
    with pytest.raises(ValueError, match="unknown preset") as error:
        kerasae.load("something_else")
    assert "Did you mean" not in str(error.value)


def test_unknown_name_without_bundled_presets(tmp_path, monkeypatch):
    """Fails if an unknown name does not raise a ValueError when nothing is bundled."""
    monkeypatch.setattr(registry_module, "bundled_root", lambda: None)
    monkeypatch.setattr(zoo, "presets", dict)
    assert kerasae.list_models() == []
    with pytest.raises(ValueError, match="unknown preset 'vae_mnsit'"):
        kerasae.load("vae_mnsit")
    with pytest.raises(ValueError, match="no preset folder"):
        kerasae.load(str(tmp_path / "missing"))


@pytest.mark.parametrize("handle, expected", [
    ("hf://org/repo", ("org/repo", None)),
    ("hf://org/repo@dev", ("org/repo", "dev")),
    (f"hf://org/repo@{COMMIT}", ("org/repo", COMMIT)),
    ("hf://my-org/my.repo_2@v1.0", ("my-org/my.repo_2", "v1.0")),
    ("hf://org/repo@refs/pr/3", ("org/repo", "refs/pr/3")),
])
def test_parse_handle_good(handle, expected):
    assert parse_handle(handle) == expected


@pytest.mark.parametrize("handle", [
    "org/repo", "hf://repo", "hf://org/repo/extra", "hf://org/repo@", "hf://", "hf://org//repo",
    "hf:/org/repo", "hf://org/re po", "hf://org/repo@a@b", "https://huggingface.co/org/repo",
])
def test_parse_handle_bad(handle):
    """Fails if a malformed handle is accepted (or would reach the network)."""
    with pytest.raises(ValueError, match="hf://org/repo"):
        parse_handle(handle)
    if handle.startswith("hf://"):
        with pytest.raises(ValueError, match="hf://org/repo"):
            kerasae.load(handle)


# ----- another backend and the Hugging Face cache, in one offline subprocess -----------------

SUBPROCESS = r'''
import json, os, sys, traceback
from pathlib import Path
import numpy as np
import keras
import kerasae

staging, cache, work = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
data = np.load(work / "inputs.npz")
facts, outputs = {"backend": keras.backend.backend(), "errors": {}}, {}

def tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))

def section(name):
    def run(fn):
        try:
            fn()
        except Exception:
            facts["errors"][name] = traceback.format_exc()
    return run

@section("empty_cache")
def _():
    before = tree(cache)
    try:
        kerasae.load("hf://org/repo")
    except ConnectionError as error:
        facts["empty_cache_error"] = str(error)
    facts["empty_cache_before"], facts["empty_cache_after"] = before, tree(cache)

# The repo now arrives in the cache (as a download would have put it there).
os.replace(staging / "models--org--repo", cache / "models--org--repo")

for name in ("conv_ae", "cvae"):
    @section(f"other_backend/{name}")
    def _():
        kwargs = {"condition": data[f"{name}/labels"]} if name == "cvae" else {}
        model = kerasae.load(work / name)
        outputs[f"{name}/reconstruct"] = model.reconstruct(data[f"{name}/x"], **kwargs)
        facts[f"{name}/compiled"] = model.compiled
        facts[f"{name}/optimizer"] = type(model.optimizer).__module__
        facts[f"{name}/iterations_before"] = int(model.optimizer.iterations)
        before = [np.array(w) for w in model.get_weights()]
        fit_x = data[f"{name}/fit_x"]
        fit_x = [fit_x, data[f"{name}/fit_labels"]] if name == "cvae" else fit_x
        history = model.fit(fit_x, batch_size=8, epochs=2, verbose=0).history
        facts[f"{name}/losses"] = [float(v) for v in history["loss"]]
        facts[f"{name}/iterations_after"] = int(model.optimizer.iterations)
        facts[f"{name}/weights_changed"] = any(
            not np.array_equal(a, np.array(b)) for a, b in zip(before, model.get_weights()))
        bare = kerasae.load(work / name, compile=False)
        facts[f"{name}/bare_compiled"] = bare.compiled

for label, handle in (("hf", "hf://org/repo"), ("hf_revision", f"hf://org/repo@{sys.argv[4]}")):
    @section(label)
    def _():
        facts[f"{label}/folder"] = str(kerasae.hub.resolve(handle))
        model = kerasae.load(handle)
        outputs[f"{label}/reconstruct"] = model.reconstruct(data["conv_ae/x"])

@section("missing_repo")
def _():
    before = tree(cache)
    try:
        kerasae.load("hf://org/missing")
    except ConnectionError as error:
        facts["missing_error"] = str(error)
    facts["missing_before"], facts["missing_after"] = before, tree(cache)

facts["torch_imported"] = "torch" in sys.modules
np.savez(work / "outputs.npz", **outputs)
(work / "facts.json").write_text(json.dumps(facts))
'''


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory):
    """Presets saved here (mid-training), loaded in one subprocess on OTHER_BACKEND with
    HF_HUB_OFFLINE=1: from their folders, and from a Hugging Face cache that starts empty and
    then holds org/repo, whose main is conv_ae and whose OLD_COMMIT is conv_ae_old (the same
    model with other weights)."""
    keras.utils.set_random_seed(0)
    work = tmp_path_factory.mktemp("elsewhere")
    inputs, expected = {}, {}
    for name in ("conv_ae", "cvae"):
        model = mid_training(name)
        save_preset(model, work / name)
        x = SPECS[name]["data"](N, 1)
        inputs[f"{name}/x"] = x
        fit = fit_inputs(name, 16, seed=9)
        if name == "cvae":
            inputs[f"{name}/labels"] = method_kwargs(name, N, 1)["condition"]
            inputs[f"{name}/fit_x"], inputs[f"{name}/fit_labels"] = fit
        else:
            inputs[f"{name}/fit_x"] = fit
        expected[name] = reconstruct(model, name)
    model = load_preset(work / "conv_ae")
    model.set_weights([0.5 * w for w in model.get_weights()])
    save_preset(model, work / "conv_ae_old")
    expected["conv_ae_old"] = reconstruct(model, "conv_ae")
    np.savez(work / "inputs.npz", **inputs)

    staging, cache = work / "staging", work / "hub"
    cache.mkdir()
    hf_cache_repo(staging, "org/repo", {COMMIT: work / "conv_ae", OLD_COMMIT: work / "conv_ae_old"},
                  main=COMMIT)
    env = {**os.environ, "KERAS_BACKEND": OTHER_BACKEND, "HF_HUB_OFFLINE": "1",
           "HF_HUB_CACHE": str(cache), "HF_HUB_DISABLE_TELEMETRY": "1",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    script = work / "check.py"
    script.write_text(SUBPROCESS)
    result = subprocess.run([sys.executable, str(script), str(staging), str(cache), str(work),
                             OLD_COMMIT], env=env, capture_output=True, text=True, timeout=300,
                            cwd=work)
    assert result.returncode == 0, result.stderr[-4000:]
    facts = json.loads((work / "facts.json").read_text())
    outputs = dict(np.load(work / "outputs.npz"))
    return {"facts": facts, "outputs": outputs, "expected": expected, "cache": cache}


def no_error(facts: dict, section: str) -> None:
    assert section not in facts["errors"], facts["errors"][section]


@pytest.mark.parametrize("name", ["conv_ae", "cvae"])
def test_preset_loads_and_trains_on_another_backend(elsewhere, name):
    """Fails if a preset saved on this backend loads on another with different outputs, comes
    back without a fresh optimiser of that backend, or cannot train there."""
    facts = elsewhere["facts"]
    no_error(facts, f"other_backend/{name}")
    assert facts["backend"] == OTHER_BACKEND
    np.testing.assert_allclose(elsewhere["outputs"][f"{name}/reconstruct"],
                               elsewhere["expected"][name], atol=1e-5)
    assert facts[f"{name}/compiled"]
    assert facts[f"{name}/iterations_before"] == 0
    assert ("torch" in facts[f"{name}/optimizer"]) == (OTHER_BACKEND == "torch")
    assert facts[f"{name}/iterations_after"] == 4  # 16 examples, batch 8, 2 epochs
    assert all(np.isfinite(facts[f"{name}/losses"]))
    assert facts[f"{name}/weights_changed"]
    assert not facts[f"{name}/bare_compiled"]
    if OTHER_BACKEND != "torch":  # nothing in a preset needs torch
        assert not facts["torch_imported"]


@pytest.mark.parametrize("label, commit, preset", [
    pytest.param("hf", COMMIT, "conv_ae", id="main"),
    pytest.param("hf_revision", OLD_COMMIT, "conv_ae_old", id="at-commit"),
])
def test_hf_handle_loads_from_the_offline_cache(elsewhere, label, commit, preset):
    """Fails if hf://org/repo (main) or hf://org/repo@<commit> does not resolve offline to that
    commit's cached snapshot, or the model from it differs from the one saved."""
    facts = elsewhere["facts"]
    no_error(facts, label)
    folder = Path(facts[f"{label}/folder"])
    assert folder.name == commit
    assert folder.parent.name == "snapshots" and folder.parent.parent.name == "models--org--repo"
    np.testing.assert_allclose(elsewhere["outputs"][f"{label}/reconstruct"],
                               elsewhere["expected"][preset], atol=1e-5)


def test_hf_handle_offline_without_cache_says_how_to_get_it(elsewhere):
    """Fails if an uncached hf:// handle offline raises anything but ConnectionError, if its
    message does not name the repo and how to fetch it, or if the attempt writes to the cache."""
    facts = elsewhere["facts"]
    no_error(facts, "empty_cache")
    no_error(facts, "missing_repo")
    message = facts.get("empty_cache_error")
    assert message is not None, "offline load from an empty cache did not raise ConnectionError"
    assert "org/repo" in message and "HF_HUB_CACHE" in message and "online" in message
    assert facts["empty_cache_before"] == facts["empty_cache_after"] == []
    message = facts.get("missing_error")
    assert message is not None and "org/missing" in message
    assert facts["missing_before"] == facts["missing_after"]
    assert not any("missing" in p for p in tree(elsewhere["cache"]))


# ----- publishing (a fake HfApi: nothing reaches the network) ---------------------------------


class FakeHub:
    """Stands in for huggingface_hub.HfApi and keeps the Hub's rules that matter here: a repo
    must exist before an upload, and an upload goes to an existing branch (the Hub answers 404
    'Invalid rev id' otherwise)."""

    def __init__(self, tmp_path: Path):
        self.calls: list[tuple[str, dict]] = []
        self.repos: dict[str, set[str]] = {}
        self.uploads = tmp_path / "uploads"
        hub = self

        class FakeHfApi:
            def __init__(self, **kwargs):
                hub.calls.append(("HfApi", kwargs))

            def create_repo(self, repo_id, **kwargs):
                hub.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
                hub.repos.setdefault(repo_id, {"main"})
                return f"https://huggingface.co/{repo_id}"

            def create_branch(self, repo_id, *, branch, **kwargs):
                hub.calls.append(("create_branch", {"repo_id": repo_id, "branch": branch,
                                                    **kwargs}))
                hub.repos[repo_id].add(branch)

            def upload_folder(self, **kwargs):
                hub.calls.append(("upload_folder", kwargs))
                branches = hub.repos.get(kwargs["repo_id"])
                if branches is None:
                    raise RuntimeError(f"404: repository {kwargs['repo_id']} not found")
                if (kwargs.get("revision") or "main") not in branches:
                    raise RuntimeError(f"404: Invalid rev id: {kwargs['revision']}")
                folder = Path(kwargs["folder_path"])
                patterns = kwargs.get("allow_patterns") or ["*"]
                target = hub.uploads / str(len(list(hub.uploads.glob("*"))))
                target.mkdir(parents=True)
                for path in folder.iterdir():
                    if any(fnmatch.fnmatch(path.name, p) for p in patterns):
                        shutil.copy(path, target / path.name)
                return "commit-info"

        self.HfApi = FakeHfApi

    def named(self, name: str) -> list[dict]:
        return [kwargs for call, kwargs in self.calls if call == name]

    def uploaded(self, index: int = -1) -> Path:
        return sorted(self.uploads.iterdir())[index]


@pytest.fixture
def fake_hub(tmp_path, monkeypatch) -> FakeHub:
    import huggingface_hub

    hub = FakeHub(tmp_path)
    monkeypatch.setattr(huggingface_hub, "HfApi", hub.HfApi)
    return hub


def test_push_folder(fake_hub, ae_copy):
    """Fails if push does not create the repo (private, exist_ok), upload exactly the preset
    files with the commit message, or passes a token of its own."""
    (ae_copy / "scratch.txt").write_text("not part of the preset")
    result = kerasae.push(ae_copy, "hf://org/repo", private=True, commit_message="msg")
    assert result == "commit-info"
    assert [call for call, _ in fake_hub.calls] == ["HfApi", "create_repo", "upload_folder"]
    assert fake_hub.named("create_repo") == [
        {"repo_id": "org/repo", "private": True, "exist_ok": True, "repo_type": "model"}]
    (upload,) = fake_hub.named("upload_folder")
    assert upload["repo_id"] == "org/repo"
    assert upload["repo_type"] == "model"
    assert upload["revision"] is None
    assert upload["commit_message"] == "msg"
    assert Path(upload["folder_path"]) == ae_copy
    assert sorted(upload["allow_patterns"]) == sorted(PRESET_FILES)
    # a sampler or card picture left on the Hub from an earlier push would be refused on load
    assert sorted(upload["delete_patterns"]) == sorted([*OPTIONAL_FILES, *PICTURES])
    assert file_bytes(fake_hub.uploaded()) == {
        k: v for k, v in file_bytes(ae_copy).items() if k in PRESET_FILES}
    for _, kwargs in fake_hub.calls:
        assert "token" not in kwargs


def test_push_uploads_the_card_pictures_and_keeps_them_off_the_delete_list(fake_hub, ae_copy,
                                                                           tmp_path):
    from kerasae.apps.pictures import sample_grid

    png = sample_grid(np.zeros((2, 4, 4, 1)), tmp_path / "grid.png", columns=2, dpi=10)
    kerasae.hub.set_preset_pictures(ae_copy, {"traversals.png": (png, "Sweeps.")})
    kerasae.push(ae_copy, "hf://org/repo")
    (upload,) = fake_hub.named("upload_folder")
    assert "traversals.png" in upload["allow_patterns"]
    assert "traversals.png" not in upload["delete_patterns"]
    assert "reconstructions.png" in upload["delete_patterns"]
    assert "traversals.png" in file_bytes(fake_hub.uploaded())


def test_push_model_to_a_branch(fake_hub, tmp_path):
    """Fails if pushing a model does not upload a complete preset of that model, or if an upload
    to hf://org/repo@dev would go to a branch that does not exist."""
    model = perturbed("cvae")
    kerasae.push(model, "hf://org/repo@dev", metadata={"dataset": {"name": "synthetic"}})
    assert [call for call, _ in fake_hub.calls] == ["HfApi", "create_repo", "create_branch",
                                                    "upload_folder"]
    assert fake_hub.named("create_branch") == [
        {"repo_id": "org/repo", "branch": "dev", "repo_type": "model", "exist_ok": True}]
    (upload,) = fake_hub.named("upload_folder")
    assert upload["revision"] == "dev"
    assert "token" not in upload
    assert upload["commit_message"]  # a default message
    folder = fake_hub.uploaded()
    assert sorted(p.name for p in folder.iterdir()) == sorted(PRESET_FILES)
    meta = read_metadata(folder)
    assert meta["name"] == "repo" and meta["dataset"] == {"name": "synthetic"}
    np.testing.assert_array_equal(reconstruct(kerasae.load(folder), "cvae"),
                                  reconstruct(model, "cvae"))
    assert "dev" in fake_hub.repos["org/repo"]
    for _, kwargs in fake_hub.calls:
        assert "token" not in kwargs


def test_push_refuses_a_broken_preset(fake_hub, ae_copy, tmp_path):
    """Fails if a damaged preset, a folder that is not a preset or a bad handle reaches HfApi."""
    data = bytearray((ae_copy / WEIGHTS).read_bytes())
    data[-100] ^= 0xFF
    (ae_copy / WEIGHTS).write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"model\.weights\.h5"):
        kerasae.push(ae_copy, "hf://org/repo")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IntegrityError, match=r"metadata\.json"):
        kerasae.push(tmp_path / "empty", "hf://org/repo")
    with pytest.raises(ValueError, match="hf://org/repo"):
        kerasae.push(ae_copy, "org/repo")
    with pytest.raises(ValueError, match="metadata="):
        kerasae.push(ae_copy, "hf://org/repo", metadata={"dataset": {"name": "x"}})
    assert fake_hub.calls == []


# ----- fine-tuning and lineage ----------------------------------------------------------------


def test_fine_tune_frozen_encoder_and_record_lineage(ae_preset, tmp_path):
    """Fails if freezing the encoder of a loaded preset does not hold its weights, if training
    does not move the decoder and lower the loss, or if the new preset does not record its parent
    (name and weights hash) or does not reload to the fine-tuned model."""
    model = kerasae.load(ae_preset)
    model.encoder.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    x = SPECS["ae"]["data"](32, seed=11)
    encoder_before, decoder_before = weights(model.encoder), weights(model.decoder)
    loss_before = model.evaluate(x, verbose=0)
    model.fit(x, batch_size=32, epochs=15, verbose=0)
    assert model.evaluate(x, verbose=0) < loss_before
    for got, want in zip(weights(model.encoder), encoder_before, strict=True):
        np.testing.assert_array_equal(got, want)
    assert any(not np.array_equal(a, b)
               for a, b in zip(weights(model.decoder), decoder_before, strict=True))

    child = save_preset(model, tmp_path / "ae_finetuned", metadata={"dataset": {"name": "new"}})
    meta = read_metadata(child)
    parent = read_metadata(ae_preset)
    assert meta["lineage"][-1]["name"] == parent["name"] == "ae_preset"
    assert meta["lineage"][-1]["weights_sha256"] == parent["files"][WEIGHTS]
    assert meta["lineage"][-1]["weights_sha256"] == sha256(ae_preset / WEIGHTS)
    assert meta["files"][WEIGHTS] != parent["files"][WEIGHTS]
    assert "Fine-tuned from" in (child / CARD).read_text()
    np.testing.assert_allclose(reconstruct(kerasae.load(child), "ae"), reconstruct(model, "ae"),
                               atol=1e-6)
    grandchild = save_preset(kerasae.load(child), tmp_path / "again")
    assert [e["name"] for e in read_metadata(grandchild)["lineage"]] == ["ae_preset",
                                                                         "ae_finetuned"]
