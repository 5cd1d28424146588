"""User images as a preset expects them: image_folder (keras.utils.image_dataset_from_directory
+ the preset's crop, channels and range), load_images (Pillow), from_tfds (TensorFlow Datasets,
offline through tfds.testing.mock_data), each accepted by Model.fit on the current backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

import kerasae
from kerasae.data import (
    ImagePreprocessing,
    from_tfds,
    image_folder,
    load_images,
    preprocess_array,
)

GREY = {"name": "grey8", "input_spec": {"shape": [8, 8, 1]}}
# An RGB preset recorded with a centre crop of half the largest square (as CelebA's 148/178).
CROPPED = {"name": "rgb8", "input_spec": {"shape": [8, 8, 3]},
           "image_preprocessing": {"center_crop": 0.5}}


def framed(width: int, height: int, inner=(200, 40, 40), outer=(0, 0, 255)) -> np.ndarray:
    """An RGB image: a centred square of side 0.7 min(width, height) in `inner`, the rest
    `outer`. A centre crop of 0.5 keeps only `inner`; no crop keeps both."""
    image = np.empty((height, width, 3), np.uint8)
    image[:] = outer
    side = int(min(width, height) * 0.7)
    top, left = (height - side) // 2, (width - side) // 2
    image[top:top + side, left:left + side] = inner
    return image


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Nine images of three sizes and two formats in nested folders."""
    root = tmp_path_factory.mktemp("images")
    sizes = [(64, 48), (40, 40), (30, 50)]
    for i in range(9):
        sub = root / ("a" if i % 2 else "b/c")
        sub.mkdir(parents=True, exist_ok=True)
        suffix = ".png" if i % 3 else ".jpg"
        Image.fromarray(framed(*sizes[i % 3])).save(sub / f"img{i}{suffix}", quality=95)
    (root / "notes.txt").write_text("not an image")
    return root


def test_recorded_crop_is_read_and_reproduces_celeba_protocol():
    spec = ImagePreprocessing.from_metadata(kerasae.model_info("beta_vae_celeba"))
    assert spec.shape == (64, 64, 3)
    # CelebA: the centred 148 x 148 square of the 178 x 218 aligned faces
    assert np.allclose(spec.box(178, 218), (15, 35, 163, 183), atol=1e-3)
    assert "centre crop" in spec.describe()
    with pytest.raises(ValueError, match="not images"):
        ImagePreprocessing.from_metadata(kerasae.model_info("lstm_ae_ecg5000"))


def test_load_images_crops_instead_of_squashing(folder):
    x, sizes = load_images([folder], CROPPED)
    assert x.shape == (9, 8, 8, 3) and x.dtype == np.float32
    assert sorted(set(sizes)) == [(30, 50), (40, 40), (64, 48)]
    # the crop keeps only the inner square: every pixel is the inner colour
    np.testing.assert_allclose(x.mean(axis=(0, 1, 2)), np.array([200, 40, 40]) / 255, atol=0.03)
    grey, _ = load_images([folder], GREY)  # no crop: the blue frame shows, in grey
    assert grey.shape == (9, 8, 8, 1) and grey[:, 0, 0, 0].max() < 0.2 < grey[:, 4, 4, 0].min()


def test_image_folder_matches_load_images_and_splits(folder):
    x, _ = load_images([folder], CROPPED)
    whole = image_folder(folder, CROPPED, batch_size=4, shuffle=False)
    y = np.concatenate(list(whole.as_numpy_iterator()))
    assert y.shape == (9, 8, 8, 3) and y.dtype == np.float32 and 0 <= y.min() <= y.max() <= 1
    np.testing.assert_allclose(np.sort(y.mean(axis=(1, 2, 3))), np.sort(x.mean(axis=(1, 2, 3))),
                               atol=0.03)
    train, val = image_folder(folder, CROPPED, batch_size=4, validation_split=0.34, seed=1)
    n_train = sum(len(b) for b in train.as_numpy_iterator())
    n_val = sum(len(b) for b in val.as_numpy_iterator())
    assert (n_train, n_val) == (6, 3)


def test_folders_without_images_are_refused(folder, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        image_folder(tmp_path / "empty", GREY)
    with pytest.raises(ValueError, match="not an image file"):
        load_images([folder / "notes.txt"], GREY)
    with pytest.raises(FileNotFoundError):
        image_folder(tmp_path / "missing", GREY)


def test_preprocess_array():
    x = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 1), dtype=np.uint8)
    np.testing.assert_allclose(preprocess_array(x, GREY), x / 255.0, atol=1e-6)
    big = np.stack([framed(20, 20)] * 2)
    out = preprocess_array(big, CROPPED)
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), np.array([200, 40, 40]) / 255, atol=0.03)
    with pytest.raises(ValueError, match="NaN"):
        preprocess_array(np.full((2, 8, 8, 1), np.nan), GREY)
    with pytest.raises(ValueError, match="expected images"):
        preprocess_array(np.zeros((2, 8)), GREY)


def test_from_tfds_takes_the_image_out_of_dict_elements():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=10, policy=tfds.testing.MockPolicy.USE_CODE):
        dataset = from_tfds("mnist", split="train", preset=CROPPED, batch_size=4)
        batches = list(dataset.as_numpy_iterator())
        with pytest.raises(ValueError, match="no feature 'picture'"):
            from_tfds("mnist", split="train", preset=CROPPED, image_key="picture")
    x = np.concatenate(batches)
    assert x.shape == (10, 8, 8, 3) and x.dtype == np.float32 and 0 <= x.min() <= x.max() <= 1
    np.testing.assert_array_equal(x[..., 0], x[..., 2])  # grey digits repeated into RGB
    with pytest.raises(ValueError, match="preset"):
        from_tfds("mnist")
    with pytest.raises(ValueError, match="no dataset 'no_such_set'"):
        from_tfds("no_such_set", preset=GREY)


def test_fit_accepts_image_folder_and_tfds_on_this_backend(folder):
    import tensorflow_datasets as tfds

    model = kerasae.build("ae", input_shape=(8, 8, 1), latent_dim=2, hidden_units=(8,),
                          architecture="dense")
    model.compile(optimizer="adam")
    history = model.fit(image_folder(folder, GREY, batch_size=3), epochs=1, verbose=0,
                        shuffle=False)
    assert np.isfinite(history.history["loss"][0])
    with tfds.testing.mock_data(num_examples=6, policy=tfds.testing.MockPolicy.USE_CODE):
        history = model.fit(from_tfds("mnist", preset=GREY, batch_size=3), epochs=1,
                            verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])


def test_tensorboard_writes_logs_during_fit(tmp_path):
    model = kerasae.build("sparse_ae", input_shape=(6,), latent_dim=2, hidden_units=(4,))
    model.compile(optimizer="adam")
    x = np.random.default_rng(0).random((16, 6)).astype("float32")
    model.fit(x, epochs=1, batch_size=8, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(str(tmp_path / "logs"))])
    events = list((tmp_path / "logs").rglob("events.out.tfevents.*"))
    assert events and all(e.stat().st_size > 0 for e in events)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train = EventAccumulator(str(tmp_path / "logs" / "train")).Reload()
    # the model's own terms are logged, not only the total
    assert {"epoch_loss", "epoch_sparsity_loss"} <= set(train.Tags()["tensors"])
