"""Model cards the Hugging Face Hub accepts: parsed with huggingface_hub's own ModelCard, checked
against the Hub's rules for the keys they use (licence ids, `other` with a name and a link, Hub
dataset ids, base_model for fine-tunes), with lineage and licence inherited, never defaulted."""

from __future__ import annotations

import re

import pytest
from huggingface_hub import ModelCard
from project_scripts import load_script

import kerasae
from kerasae.hub import read_metadata
from kerasae.hub.card import HUB_DATASETS, card_data, licence_fields, model_card

HUB_LICENCES = {"apache-2.0", "mit", "cc-by-sa-3.0", "cc-by-4.0", "cc-by-nc-4.0", "other"}
HUB_KEYS = {"library_name", "license", "license_name", "license_link", "datasets", "tags",
            "base_model", "base_model_relation", "pipeline_tag"}


def check_hub_card(text: str) -> dict:
    """The rules the Hub's card validator applies to the keys kerasae writes."""
    card = ModelCard(text)  # huggingface_hub's parser: front matter + body
    data = card.data.to_dict()
    assert set(data) <= HUB_KEYS, set(data) - HUB_KEYS
    assert data["library_name"] == "keras"
    if "license" in data:
        assert data["license"] in HUB_LICENCES
        if data["license"] == "other":
            assert re.fullmatch(r"[a-z0-9.\-]+", data["license_name"]), data["license_name"]
            assert data["license_link"].startswith("https://")
    assert set(data.get("datasets") or []) <= set(HUB_DATASETS.values())
    if "base_model" in data:
        assert re.fullmatch(r"[\w.\-]+/[\w.\-]+", data["base_model"])
        assert data["base_model_relation"] == "finetune"
    assert "model-index" not in text and "task:" not in text and "autoencoding" not in text
    assert all(re.fullmatch(r"[a-z0-9_\-]+", tag) for tag in data["tags"])
    assert "import kerasae" in card.text and "keras.saving.load_model" in card.text
    return data


@pytest.mark.parametrize("name", kerasae.list_models())
def test_bundled_cards_are_valid_hub_cards(name):
    meta = kerasae.model_info(name)
    text = (kerasae.hub.resolve(name) / "README.md").read_text()
    data = check_hub_card(text)
    assert data["license"] == meta["licence_id"]
    for key in meta["metrics"]:  # short names; the protocol is in the table's text
        assert re.fullmatch(r"[a-z0-9_]{2,40}", key), key
        assert f"| {key} | " in text
    if meta["dataset"]["name"] == "mnist":
        assert data["datasets"] == ["ylecun/mnist"]
    else:
        assert "datasets" not in data  # no Hub id known for certain: none claimed
    assert meta["finetune"]["learning_rate"] > 0 and meta["parameter_count"] > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d", meta["date_saved"])
    # regenerating the card from the metadata gives the file that is shipped
    assert model_card(meta) == text


def test_keras_load_model_reads_a_preset_folder_once_kerasae_is_imported():
    """What the card says of keras.saving.load_model("hf://..."): after the download it reads
    the same folder (config.json + model.weights.h5) as here."""
    import keras
    import numpy as np

    model = keras.saving.load_model(kerasae.hub.resolve("ae_mnist"))
    x = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(model.reconstruct(x), kerasae.load("ae_mnist").reconstruct(x),
                               atol=1e-6)


def test_celeba_card_states_its_non_commercial_terms():
    data = check_hub_card((kerasae.hub.resolve("beta_vae_celeba") / "README.md").read_text())
    assert data["license"] == "other"
    assert data["license_name"] == "celeba-non-commercial-research"
    assert "non-commercial" in kerasae.model_info("beta_vae_celeba")["licence"]


PARENT = {"name": "beta_vae_celeba", "weights_sha256": "ab" * 32,
          "dataset": {"name": "celeba64"}, "licence_id": "other",
          "licence": "non-commercial research only",
          "licence_name": "celeba-non-commercial-research",
          "licence_link": "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"}


def test_fine_tune_card_inherits_licence_and_states_lineage_as_text():
    meta = {"name": "mine", "variant": "beta_vae", "input_spec": {"shape": [64, 64, 3]},
            "lineage": [{**PARENT, "base_model": "someone/beta-vae-celeba"}],
            "base_model": "someone/beta-vae-celeba"}
    text = model_card(meta)
    data = check_hub_card(text)
    assert data["license"] == "other"  # the parent's terms, not a default licence
    assert data["license_link"] == PARENT["licence_link"]
    assert data["base_model"] == "someone/beta-vae-celeba"
    (line,) = [row for row in text.splitlines() if row.startswith("- Fine-tuned from:")]
    assert "{" not in line and "`someone/beta-vae-celeba`" in line and "ab" * 32 in line
    assert "celeba64" in line and "inherited" in text


def test_no_licence_stated_gives_no_licence():
    meta = {"name": "mine", "variant": "ae", "input_spec": {"shape": [4]}}
    assert card_data(meta).license is None
    assert "license" not in check_hub_card(model_card(meta))
    assert "Licence of these weights: not stated" in model_card(meta)


def test_most_restrictive_licence_in_the_lineage_applies():
    lineage = [{"name": "a", "licence_id": "other", "licence": "research only",
                "licence_name": "x", "licence_link": "https://example.org/terms"},
               {"name": "b", "licence_id": "apache-2.0"}]
    assert licence_fields({"lineage": lineage})["licence_id"] == "other"
    assert licence_fields({"lineage": lineage[1:]})["licence_id"] == "apache-2.0"
    assert licence_fields({"licence_id": "mit", "lineage": lineage})["licence_id"] == "other"
    assert licence_fields({"licence_id": "other", "licence": "mine", "lineage": lineage})[
        "licence"] == "mine"


def test_a_preset_saved_from_a_preset_keeps_the_parents_licence(tmp_path):
    """save_preset records the parent's licence in the lineage, so the child's card states it
    (not no licence at all) without going through kerasae finetune."""
    parent = kerasae.model_info("sparse_ae_natural_patches")
    assert parent["licence_id"] == "other" and parent.get("licence_name")
    model = kerasae.load("sparse_ae_natural_patches", compile=False)
    child = kerasae.save_preset(model, tmp_path / "child")
    meta = read_metadata(child)
    assert licence_fields(meta) == licence_fields(parent)
    data = ModelCard((child / "README.md").read_text()).data
    assert data.license == "other" and data.license_name == parent["licence_name"]


def test_metrics_table_shows_reference_and_floor_beside_the_value():
    meta = {"name": "mine", "variant": "ae", "input_spec": {"shape": [4]}, "metrics": {
        "psnr_db": {"value": 21.5, "target": ">= 22", "split": "test", "description": "PSNR",
                    "reference": "23.1 (Someone et al. 2020)",
                    "floor": {"value": 9.4, "description": "the noisy input"}},
        "mse": {"value": 0.01, "split": "test", "description": "MSE"}}}
    text = model_card(meta)
    assert "| reference (source) | floor (measured here) |" in text
    assert "| psnr_db | 21.5 | >= 22 | 23.1 (Someone et al. 2020) | 9.4 (the noisy input) | test" \
        in text
    assert "| mse | 0.01 |  |  |  | test | MSE |" in text
    del meta["metrics"]["psnr_db"]
    assert "floor" not in model_card(meta)  # cards without references keep their table


def test_readme_table_and_missed_targets_match_the_cards():
    """The README's preset table and its list of missed targets are written by
    scripts/model_table.py from the cards; a card changed without rerunning it shows here."""
    model_table = load_script("model_table")
    readme = (model_table.ROOT / "README.md").read_text()
    block = readme.split(model_table.START, 1)[1].split(model_table.END, 1)[0]
    assert block.strip() == model_table.table().strip(), (
        "README.md's preset table is stale: run scripts/model_table.py")
