"""`kerasae finetune` and kerasae.finetune.finetune: a bundled preset fine-tuned for one epoch on
images of other sizes (PNG and JPEG in nested folders) gets the preset's preprocessing, a
validation split, the recorded learning rate, and saves a preset that loads and carries its
lineage, its parent's licence and the preprocessing. Also `kerasae reconstruct` on a folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
from huggingface_hub import ModelCard
from PIL import Image

import kerasae
from kerasae import cli
from kerasae.data import load_images
from kerasae.finetune import _hub_id, finetune

PARENT = "ae_mnist"


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """Twelve shipped MNIST digits written as 56x56 PNG and 40x40 RGB JPEG in nested folders."""
    from kerasae.data import load_mnist_sample

    (x, _), _ = load_mnist_sample()
    root = tmp_path_factory.mktemp("digits")
    for i, image in enumerate(x[:12]):
        pixels = Image.fromarray((image[..., 0] * 255).round().astype(np.uint8))
        sub = root / ("png" if i % 2 else "jpeg/more")
        sub.mkdir(parents=True, exist_ok=True)
        if i % 2:
            pixels.resize((56, 56), Image.BILINEAR).save(sub / f"{i}.png")
        else:
            pixels.convert("RGB").resize((40, 40), Image.BILINEAR).save(sub / f"{i}.jpg",
                                                                          quality=95)
    return root, x[:12]


def test_finetune_a_bundled_preset_on_an_image_folder(digits, tmp_path, capsys):
    folder, originals = digits
    out = tmp_path / "my_ae"
    assert cli.main(["finetune", PARENT, str(folder), "--out", str(out), "--epochs", "1",
                     "--batch-size", "4", "--validation-split", "0.25"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert "resized to 28x28, grey" in captured.err  # the preprocessing is reported
    assert (report["train_examples"], report["validation_examples"]) == (9, 3)
    assert report["epochs_run"] == 1 and report["learning_rate"] == 1e-4
    assert not (tmp_path / "my_ae.checkpoints").exists()

    parent = kerasae.model_info(PARENT)
    model = kerasae.load(out)  # sha256-checked, loads on this backend
    meta = model.preset_metadata
    (entry,) = meta["lineage"]
    assert entry["name"] == PARENT
    assert entry["weights_sha256"] == parent["files"]["model.weights.h5"]
    assert meta["licence_id"] == parent["licence_id"] == "cc-by-sa-3.0"
    assert meta["licence"] == parent["licence"]
    assert meta["image_preprocessing"] == parent["image_preprocessing"]
    assert meta["finetune"] == {"learning_rate": 1e-4}
    assert meta["training"]["learning_rate"] == 1e-4
    assert meta["training"]["early_stopping"]["monitor"] == "val_loss"
    assert meta["training"]["command"].startswith("kerasae finetune ae_mnist")
    assert meta["parameter_count"] == model.count_params()
    # weights changed, a little, and stay finite
    before = kerasae.load(PARENT).get_weights()
    changes = [np.abs(a - b).max() for a, b in zip(before, model.get_weights(), strict=True)]
    assert 0 < max(changes) < 0.05
    # the preset reconstructs the images the way the parent sees them
    x, _ = load_images([folder], meta)
    assert x.shape == (12, 28, 28, 1)
    assert np.abs(np.sort(x.mean(axis=(1, 2, 3))) - np.sort(originals.mean(axis=(1, 2, 3)))
                  ).max() < 0.03

    card = ModelCard.load(out / "README.md")
    assert card.data.license == "cc-by-sa-3.0" and card.data.library_name == "keras"
    assert "- Fine-tuned from: `ae_mnist`" in card.text and "{" not in card.text.split(
        "Fine-tuned from")[1].splitlines()[0]


def test_learning_rate_far_above_the_recorded_one_is_refused(digits, tmp_path):
    folder, _ = digits
    with pytest.raises(ValueError, match="100x the 0.0001 recorded"):
        finetune(PARENT, folder, tmp_path / "bad", learning_rate=1e-2)
    assert not (tmp_path / "bad").exists()  # refused before anything is written
    (tmp_path / "taken").mkdir()
    with pytest.raises(ValueError, match="already exists"):
        finetune(PARENT, folder, tmp_path / "taken")
    with pytest.raises(ValueError, match="conditional"):
        finetune("cvae_mnist", folder, tmp_path / "c")


def test_an_interrupted_run_resumes_from_its_checkpoint(tmp_path):
    import keras

    np.save(tmp_path / "x.npy", np.random.default_rng(1).random((8, 28, 28, 1), "float32"))

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt  # after BackupAndRestore saved epoch 1

    out, lines = tmp_path / "mine", []
    with pytest.raises(KeyboardInterrupt):
        finetune(PARENT, tmp_path / "x.npy", out, epochs=2, batch_size=4, validation_split=0,
                 verbose=0, callbacks=[Interrupt()])
    assert (tmp_path / "mine.checkpoints").is_dir() and not out.exists()
    result = finetune(PARENT, tmp_path / "x.npy", out, epochs=2, batch_size=4,
                      validation_split=0, verbose=0, log=lines.append)
    assert any(line.startswith("resuming from the checkpoint") for line in lines)
    assert len(result.history["loss"]) == 1  # only the second epoch was left to run
    assert result.metadata["training"]["early_stopping"] is None  # no validation data
    assert not (tmp_path / "mine.checkpoints").exists() and kerasae.load(out)


def test_forced_rate_on_a_tfds_dataset_warns_and_keeps_the_stricter_licence(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=8, policy=tfds.testing.MockPolicy.USE_CODE), \
            pytest.warns(UserWarning, match="forced"):
        result = finetune(PARENT, "tfds:mnist", tmp_path / "mine", epochs=1, batch_size=4,
                          validation_split=0.5, learning_rate=2e-3, force=True, verbose=0,
                          licence_id="apache-2.0", data_licence="my own digits, Apache-2.0")
    meta = result.metadata
    assert meta["training"]["data"] == (
        "tfds mnist, split train[:50%] / train[50%:] (training / validation)")
    assert result.report["train_examples"] > 0 and result.report["validation_examples"] > 0
    assert meta["licence_id"] == "cc-by-sa-3.0"  # the parent's share-alike terms still apply
    assert "my own digits" in meta["licence"] and "forced" in meta["notes"]
    assert meta["training"]["learning_rate"] == 2e-3 and meta["finetune"]["learning_rate"] == 1e-4
    with pytest.raises(ValueError, match="tfds:mnist"):
        finetune(PARENT, "tfds:", tmp_path / "other")


def test_base_model_comes_from_a_hub_handle():
    assert _hub_id("hf://someone/beta-vae@v1", {}) == "someone/beta-vae"
    assert _hub_id("ae_mnist", {}) is None


def test_reconstruct_a_folder_of_other_sized_images(digits, tmp_path, capsys):
    folder, _ = digits
    out = tmp_path / "out"
    assert cli.main(["reconstruct", PARENT, str(folder), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "read 12 images" in err and "40x40" in err and "56x56" in err
    assert "resized to 28x28" in err
    assert np.load(out / "reconstructions.npy").shape == (12, 28, 28, 1)
    assert cli.main(["reconstruct", "sparse_ae_natural_patches", str(folder)]) == 2
    assert "not images" in capsys.readouterr().err
