"""scripts/train.py --park: an unfinished run's backup is committed with its recipe and resumed
elsewhere only under that same recipe (no training here: the backup files are stand-ins)."""

import json

import pytest
from project_scripts import load_script


@pytest.fixture(scope="module")
def train_script():
    return load_script("train")


def test_park_resume_and_removal(train_script, tmp_path):
    preset = sorted(train_script.RECIPES)[0]
    backup, parked = tmp_path / "checkpoints" / preset, tmp_path / "parked" / preset
    with pytest.raises(SystemExit, match="nothing to park"):
        train_script.main([preset, "--park", "--checkpoints", str(backup.parent),
                           "--parked", str(parked.parent)])
    backup.mkdir(parents=True)
    (backup / "latest.weights.h5").write_bytes(b"weights and optimizer state")
    (backup / "training_metadata.json").write_text(json.dumps({"epoch": 3, "batch": 0}))
    assert train_script.main([preset, "--park", "--checkpoints", str(backup.parent),
                              "--parked", str(parked.parent)]) == 0
    assert sorted(p.name for p in parked.iterdir()) == [
        "latest.weights.h5", "recipe.json", "training_metadata.json"]

    elsewhere = tmp_path / "elsewhere" / preset  # another machine: no backup of its own
    epochs = train_script.recipe(preset).epochs
    with pytest.raises(SystemExit, match=r"another recipe \(differs in \['epochs'\]"):
        train_script.unpark(parked, elsewhere, train_script.fingerprint(preset, epochs + 1))
    assert not elsewhere.exists()
    train_script.unpark(parked, elsewhere, train_script.fingerprint(preset, epochs))
    assert (elsewhere / "latest.weights.h5").read_bytes() == b"weights and optimizer state"

    train_script.remove_parked(parked)
    assert not parked.exists()


def test_every_committed_parked_run_belongs_to_its_current_recipe(train_script):
    """A run parked in training/checkpoints/ must resume under the recipe in kerasae.presets:
    fails when a recipe changes while its run is parked (the next session could not resume)."""
    for parked in sorted(p for p in train_script.PARKED.iterdir() if p.is_dir()):
        assert parked.name in train_script.RECIPES, f"{parked} parks an unknown preset"
        saved = json.loads((parked / "recipe.json").read_text())
        fingerprint = train_script.fingerprint(parked.name,
                                               train_script.recipe(parked.name).epochs)
        assert saved == fingerprint, f"{parked} was parked under another recipe"
