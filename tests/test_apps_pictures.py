"""apps.pictures: every picture is a readable PNG of figsize * dpi pixels, and shows what it
should (grey stays grey, RGB keeps its colours, masked inputs get their own row)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from variant_specs import SPECS, images, vectors

import kerasae
from kerasae.apps.generation import traverse
from kerasae.apps.pictures import (
    hidden_unit_inputs,
    image_rows,
    latent_map,
    project_codes,
    reconstruction_grid,
    sample_grid,
    training_curves,
    traversal_grid,
    unit_grid,
)


def build(name: str, **options):
    return kerasae.build(name, **{**SPECS[name]["kwargs"], **options})


def png(path) -> Image.Image:
    """The written picture, after checking it is a complete PNG."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()
    image = Image.open(path)
    image.load()
    return image


def assert_size(path, figsize, dpi=100):
    """Agg truncates figsize * dpi to whole pixels; allow that one pixel of rounding."""
    width, height = png(path).size
    assert abs(width - figsize[0] * dpi) < 1 and abs(height - figsize[1] * dpi) < 1


class ShiftModel:
    """A user model with only `reconstruct`: what reconstruction_grid needs."""

    def reconstruct(self, x, batch_size=256, condition=None):
        return 1.0 - np.asarray(x)


# ----- image grids ------------------------------------------------------------------------


def test_image_rows_default_size_and_explicit_figsize(tmp_path):
    x = images(5)
    path = image_rows([x, x[:3]], tmp_path / "rows.png", titles=["five", "three"])
    assert path == str(tmp_path / "rows.png")
    assert_size(path, (5 * 0.9, 2.0))
    assert_size(image_rows([x], tmp_path / "big.png", dpi=50, figsize=(4, 3)), (4, 3), dpi=50)


def test_grey_images_stay_grey_and_rgb_images_keep_their_colours(tmp_path):
    grey = png(image_rows([images(2)], tmp_path / "grey.png")).convert("RGB")
    pixels = np.asarray(grey).astype(int)
    assert np.array_equal(pixels[..., 0], pixels[..., 1])
    assert np.array_equal(pixels[..., 1], pixels[..., 2])
    red, blue = np.zeros((2, 8, 8, 3), "float32"), np.zeros((8, 8, 3), "float32")
    red[..., 0], blue[..., 2] = 1.0, 1.0
    rgb = np.asarray(png(image_rows([red, blue[None]], tmp_path / "rgb.png")).convert("RGB"))
    colours = {tuple(p) for p in rgb.reshape(-1, 3)}
    assert (255, 0, 0) in colours and (0, 0, 255) in colours
    rgba = np.concatenate([red, np.ones((2, 8, 8, 1), "float32")], axis=-1)
    png(image_rows([rgba], tmp_path / "rgba.png"))


def test_flat_vectors_are_shown_as_squares_and_bad_shapes_are_refused(tmp_path):
    path = sample_grid(vectors(4), tmp_path / "vectors.png", columns=2, figsize=(2, 2))
    assert_size(path, (2, 2))
    png(sample_grid(np.random.default_rng(0).random((3, 10)), tmp_path / "strip.png"))
    with pytest.raises(ValueError, match=r"\(H, W, 3\) RGB.*got shape \(8, 8, 2\)"):
        sample_grid(np.zeros((3, 8, 8, 2)), tmp_path / "two_channels.png")
    with pytest.raises(ValueError, match="numeric array of images"):
        sample_grid(np.zeros(4), tmp_path / "one_axis.png")
    with pytest.raises(ValueError, match="no images"):
        sample_grid(np.zeros((0, 8, 8)), tmp_path / "none.png")


def test_sample_grid_wraps_into_rows(tmp_path):
    path = sample_grid(images(23), tmp_path / "samples.png", columns=10, title="samples")
    assert_size(path, (10 * 0.9, 3 * 0.9))
    assert_size(sample_grid(images(3), tmp_path / "narrow.png", columns=10), (3 * 0.9, 0.9))
    with pytest.raises(ValueError, match="columns must be a positive integer"):
        sample_grid(images(3), tmp_path / "bad.png", columns=0)


def test_unit_grid_of_hidden_unit_inputs(tmp_path):
    model = build("ae")
    units = hidden_unit_inputs(model)
    assert units.shape == (16, 16)
    assert_size(unit_grid(units, tmp_path / "units.png", columns=8, image_shape=(4, 4)),
                (8 * 0.8, 2 * 0.8))


def test_reconstruction_grid_shows_inputs_over_reconstructions(tmp_path):
    x = images(6)
    path = reconstruction_grid(ShiftModel(), x, tmp_path / "recon.png", n=4, dpi=80)
    assert_size(path, (4 * 0.9, 2.0), dpi=80)
    model = build("ae")
    assert_size(reconstruction_grid(model, vectors(3), tmp_path / "ae.png", n=8), (3 * 0.9, 2))


def test_reconstruction_grid_of_a_masked_autoencoder_adds_what_the_encoder_sees(tmp_path):
    model = build("masked_ae")
    path = reconstruction_grid(model, images(5), tmp_path / "mae.png", n=5)
    assert_size(path, (5 * 0.9, 3.0))  # input, masked input, reconstruction


def test_conditional_reconstruction_grid(tmp_path):
    model = build("cvae")
    labels = np.array([0, 1, 2, 0, 1])
    path = reconstruction_grid(model, vectors(5), tmp_path / "cvae.png", n=3, condition=labels)
    assert_size(path, (3 * 0.9, 2.0))
    one_class = reconstruction_grid(model, vectors(5), tmp_path / "one.png", n=2, condition=1)
    assert_size(one_class, (2 * 0.9, 2.0))


def test_traversal_grid_with_labels(tmp_path):
    grid = traverse(build("vae"), vectors(1)[0], dims=[0, 2], values=[-1.0, 0.0, 1.0])
    path = traversal_grid(grid, tmp_path / "traversal.png", row_labels=["z0", "z2"],
                          column_labels=["-1", "0", "1"])
    assert_size(path, (3 * 0.9 + 0.6, 2 * 0.9 + 0.3))
    assert_size(traversal_grid(grid, tmp_path / "plain.png", figsize=(3, 2), dpi=60), (3, 2), 60)
    with pytest.raises(ValueError, match="row_labels must have 2 entries"):
        traversal_grid(grid, tmp_path / "bad.png", row_labels=["z0"])
    with pytest.raises(ValueError, match=r"grid must be \(rows, columns"):
        traversal_grid(np.zeros((2, 8)), tmp_path / "bad.png")


# ----- latent maps ------------------------------------------------------------------------


def test_two_dimensional_codes_are_plotted_as_they_are(tmp_path):
    codes = np.random.default_rng(0).normal(size=(50, 2))
    points, names = project_codes(codes)
    np.testing.assert_array_equal(points, codes)
    assert names == ("z[0]", "z[1]")
    labels = np.arange(50) % 3
    assert_size(latent_map(codes, labels, tmp_path / "map2.png", figsize=(4, 3)), (4, 3))


def test_wide_codes_are_projected_on_their_principal_plane(tmp_path):
    rng = np.random.default_rng(1)
    plane = rng.normal(size=(60, 2)) * [3.0, 1.0]
    basis = np.linalg.qr(rng.normal(size=(10, 2)))[0]  # orthonormal 2-D subspace of R^10
    codes = plane @ basis.T + 5.0
    points, names = project_codes(codes)
    assert points.shape == (60, 2)
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    original = np.linalg.norm(plane[:, None] - plane[None], axis=-1)
    np.testing.assert_allclose(distances, original, atol=1e-8)  # a rigid map of the plane
    assert np.var(points[:, 0]) > np.var(points[:, 1])
    assert names[0].startswith("PC 1 of 10-D codes") and "100%" not in names[1]
    assert "% of variance" in names[0]
    labels = np.arange(60) % 10
    assert_size(latent_map(codes, labels, tmp_path / "map10.png"), (6, 5))
    png(latent_map(codes, rng.random(60), tmp_path / "continuous.png"))
    png(latent_map(codes, None, tmp_path / "unlabelled.png", title="codes"))


def test_one_dimensional_codes_and_bad_latent_map_input(tmp_path):
    points, names = project_codes(np.arange(4.0)[:, None])
    np.testing.assert_array_equal(points[:, 1], 0.0)
    assert names == ("z[0]", "")
    png(latent_map(np.arange(4.0)[:, None], [0, 1, 0, 1], tmp_path / "one.png"))
    with pytest.raises(ValueError, match="labels must have 3 entries"):
        latent_map(np.zeros((3, 2)), [0, 1], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="codes must be a 2-D array"):
        latent_map(np.zeros(3), None, tmp_path / "bad.png")
    with pytest.raises(ValueError, match="at least 2 codes"):
        project_codes(np.zeros((1, 5)))


# ----- training curves --------------------------------------------------------------------


def test_training_curves_from_a_real_fit(tmp_path):
    import keras

    model = build("vae")
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(vectors(32), epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    assert "val_kl_loss" in history.history
    # loss, reconstruction_loss, kl_loss, kl_divergence: 4 panels in 3 columns and 2 rows
    assert_size(training_curves(history, tmp_path / "history.png"), (12, 6))
    assert_size(training_curves(history.history, tmp_path / "dict.png", figsize=(5, 4), dpi=40),
                (5, 4), dpi=40)


def test_training_curves_of_a_plain_dict_and_bad_histories(tmp_path):
    path = training_curves({"loss": [3.0, 2.0, 1.5], "val_loss": [3.2, 2.5, 2.4]},
                           tmp_path / "loss.png")
    assert_size(path, (4, 3))
    with pytest.raises(ValueError, match="keras History"):
        training_curves([1.0, 2.0], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="no recorded epochs"):
        training_curves({"loss": []}, tmp_path / "bad.png")
