"""The model card's pictures: PNG files in the preset folder, recorded with their caption and
sha256, shown in the card under their captions, kept by every later rewrite, dropped with new
weights (and the GMM samples' picture with a new sampler), never needed to load the model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from variant_specs import SPECS, vectors

import kerasae
from kerasae.apps.pictures import sample_grid
from kerasae.hub import IntegrityError, set_preset_pictures
from kerasae.hub.integrity import sha256
from kerasae.hub.preset import METADATA, load_preset


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    model = kerasae.build("vae", **SPECS["vae"]["kwargs"])
    model.compile(optimizer="adam")
    model.fit(vectors(32), epochs=1, verbose=0)
    return model, kerasae.save_preset(model, tmp_path_factory.mktemp("p") / "vae_preset")


@pytest.fixture
def png(tmp_path):
    images = np.random.default_rng(0).random((4, 8, 8, 1))
    return sample_grid(images, tmp_path / "grid.png", columns=4, dpi=20)


def test_pictures_are_listed_shown_kept_and_removed(preset, png, tmp_path):
    model, folder = preset
    weights = (folder / "model.weights.h5").read_bytes()
    set_preset_pictures(folder, {"traversals.png": (png, "z0 moves the blob."),
                                 "samples_prior.png": (png, "Prior samples.")})
    meta = json.loads((folder / METADATA).read_text())
    assert set(meta["pictures"]) == {"samples_prior.png", "traversals.png"}
    assert meta["pictures"]["traversals.png"] == {
        "caption": "z0 moves the blob.", "sha256": sha256(folder / "traversals.png")}
    assert not set(meta["pictures"]) & set(meta["files"])  # loading never needs them
    card = (folder / "README.md").read_text()
    assert "## Pictures" in card
    assert card.index("![samples prior](samples_prior.png)") < card.index(
        "![traversals](traversals.png)")
    assert "z0 moves the blob." in card
    load_preset(folder)
    kerasae.hub.update_metadata(folder, notes="checked")
    assert (folder / "traversals.png").read_bytes() == Path(png).read_bytes()
    assert "z0 moves the blob." in (folder / "README.md").read_text()
    set_preset_pictures(folder, None)
    meta = json.loads((folder / METADATA).read_text())
    assert "pictures" not in meta and not (folder / "traversals.png").exists()
    assert "## Pictures" not in (folder / "README.md").read_text()
    assert (folder / "model.weights.h5").read_bytes() == weights


def test_a_deleted_picture_does_not_stop_loading_and_stays_deleted(preset, png):
    _, folder = preset
    set_preset_pictures(folder, {"traversals.png": (png, "Sweeps."),
                                 "reconstructions.png": (png, "Inputs, outputs.")})
    (folder / "traversals.png").unlink()
    load_preset(folder)
    kerasae.hub.update_metadata(folder, notes="rewritten")
    meta = kerasae.hub.read_metadata(folder)
    assert list(meta["pictures"]) == ["reconstructions.png"]
    assert "traversals.png" not in (folder / "README.md").read_text()
    set_preset_pictures(folder, None)


def test_a_new_sampler_drops_the_picture_of_the_old_ones_samples(preset, png):
    from kerasae.samplers import fit_gmm

    model, folder = preset
    set_preset_pictures(folder, {"samples_gmm.png": (png, "GMM samples."),
                                 "samples_prior.png": (png, "Prior samples.")})
    codes = np.random.default_rng(0).standard_normal((40, model.latent_dim))
    kerasae.hub.set_preset_sampler(folder, fit_gmm(codes, n_components=2, seed=0))
    assert list(kerasae.hub.read_metadata(folder)["pictures"]) == ["samples_prior.png"]
    assert not (folder / "samples_gmm.png").exists()
    kerasae.hub.set_preset_sampler(folder, None)
    set_preset_pictures(folder, None)


def test_new_weights_saved_over_a_preset_drop_its_pictures(preset, png):
    model, folder = preset
    set_preset_pictures(folder, {"samples_prior.png": (png, "Prior samples.")})
    meta = kerasae.hub.read_metadata(folder)
    kerasae.save_preset(model, folder, metadata={"pictures": meta["pictures"]})
    assert "pictures" not in kerasae.hub.read_metadata(folder)
    assert not (folder / "samples_prior.png").exists()


def test_a_tampered_picture_is_refused_naming_it(preset, png):
    _, folder = preset
    set_preset_pictures(folder, {"reconstructions.png": (png, "Inputs and reconstructions.")})
    try:
        with open(folder / "reconstructions.png", "ab") as handle:
            handle.write(b"\0")
        with pytest.raises(IntegrityError, match="reconstructions.png"):
            load_preset(folder)
    finally:
        (folder / "reconstructions.png").write_bytes(Path(png).read_bytes())
        set_preset_pictures(folder, None)


@pytest.mark.parametrize("pictures, message", [
    ({"faces.png": ("PNG", "x")}, r"named one of \('samples_prior.png'"),
    ({"traversals.png": ("PNG", "")}, r"must be \(path of a PNG file, caption\)"),
    ({"traversals.png": "PNG"}, r"must be \(path of a PNG file, caption\)"),
    ({"traversals.png": ("JPEG", "z0")}, "is not a PNG file"),
    ({"traversals.png": (3, "z0")}, r"must be \(path of a PNG file, caption\)"),
])
def test_bad_pictures_are_refused_and_the_preset_is_unchanged(preset, png, tmp_path, pictures,
                                                              message):
    _, folder = preset
    set_preset_pictures(folder, {"samples_prior.png": (png, "Prior samples.")})
    jpeg = tmp_path / "photo.jpg"
    jpeg.write_bytes(b"\xff\xd8\xff\xe0 a JPEG")
    pictures = {name: tuple(str(png) if part == "PNG" else str(jpeg) if part == "JPEG"
                            else part for part in entry) if isinstance(entry, tuple)
                else entry for name, entry in pictures.items()}
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ValueError, match=message):
        set_preset_pictures(folder, pictures)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    set_preset_pictures(folder, None)


def test_pictures_are_not_a_metadata_field_to_set(preset):
    _, folder = preset
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ValueError, match="set_preset_pictures"):
        kerasae.hub.update_metadata(folder, pictures={"traversals.png": "x"})
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_metadata_with_malformed_pictures_is_refused(preset, tmp_path):
    import shutil

    _, folder = preset
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    meta = json.loads((copy / METADATA).read_text())
    meta["pictures"] = {"faces.png": {"caption": "x", "sha256": "0" * 64}}
    (copy / METADATA).write_text(json.dumps(meta))
    with pytest.raises(IntegrityError, match=r"pictures maps a file name of .*'faces.png'"):
        kerasae.hub.read_metadata(copy)


def test_card_pictures_script_draws_every_picture_with_its_caption(tmp_path, monkeypatch):
    """scripts/card_pictures.py's drawing on a small image VAE with a GMM sampler: four PNGs,
    the same bytes when drawn again, the recipe's traversal notes in the caption, and notes
    naming a dimension the picture does not show refused."""
    import dataclasses

    from project_scripts import load_script

    from kerasae.presets import RECIPES
    from kerasae.samplers import fit_gmm

    script = load_script("card_pictures")
    model = kerasae.build("vae", input_shape=(8, 8, 1), latent_dim=3, architecture="conv",
                          filters=(4,), seed=0)
    x = np.random.default_rng(0).random((16, 8, 8, 1)).astype("float32")
    model.set_sampler(fit_gmm(model.encode(x), n_components=2, seed=0))
    notes = "z0 and z2 do little; z1 too."
    recipes = dict(RECIPES, vae_mnist=dataclasses.replace(RECIPES["vae_mnist"],
                                                          traversal_notes=notes))
    monkeypatch.setattr(script, "RECIPES", recipes)
    first = script.draw("vae_mnist", model, x, tmp_path / "a")
    assert list(first) == ["samples_prior.png", "samples_gmm.png", "reconstructions.png",
                           "traversals.png"]
    assert notes in first["traversals.png"][1]
    assert 'sampler="gmm"' in first["samples_gmm.png"][1]
    assert "held-out test images" in first["reconstructions.png"][1]
    second = script.draw("vae_mnist", model, x, tmp_path / "b")
    for name, (path, _) in first.items():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.read_bytes() == second[name][0].read_bytes()
    recipes["vae_mnist"] = dataclasses.replace(RECIPES["vae_mnist"],
                                               traversal_notes="z7 tilts the digit.")
    with pytest.raises(SystemExit, match=r"traversal_notes name \[7\]"):
        script.draw("vae_mnist", model, x, tmp_path / "c")
