"""Draw the pictures of a preset's model card and put them in its folder.

    KERAS_BACKEND=tensorflow python scripts/card_pictures.py [NAME ...] [--dry-run]

For each generative preset: samples from the prior N(0, I) and from its fitted GMM sampler
(when it has one), held-out test images above their reconstructions, and a latent traversal
(the most informative dimensions of one test image, ranked by their KL, each swept from -3 to
3 with the others kept at that image's code). They go into weights/NAME through
kerasae.hub.set_preset_pictures, which keeps every other file byte for byte, lists them with
their sha256 in metadata.json and shows them in the card with their captions; the traversal's
caption says what a person saw each dimension change (the recipe's `traversal_notes`). With
--dry-run they are written to outputs/card_pictures/NAME/ and the preset is left alone.
Seeds are fixed, so a rerun on the same backend and library versions draws the same images.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import numpy as np

import kerasae
from kerasae.apps import informative_dims, traverse
from kerasae.apps.pictures import reconstruction_grid, sample_grid, traversal_grid
from kerasae.hub import set_preset_pictures
from kerasae.presets import RECIPES

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ("beta_vae_celeba", "beta_vae_dsprites")
SEED, SAMPLES, COLUMNS, TEST_IMAGE, SPAN, DIMS = 0, 32, 8, 0, 3.0, 8
DPI = 72  # a 0.9-inch cell is then about 64 pixels: the images at their own size


HELD_OUT = "held-out test images"


def draw(name: str, model, x_test: np.ndarray, out: Path, images: str = HELD_OUT
         ) -> dict[str, tuple[Path, str]]:
    """The card's pictures of `model` in `out` (made if missing): {file name: (path,
    caption)}; `images` says what x_test is. Refuses traversal notes (the recipe's) that name
    a dimension the picture does not show: they were written for other weights."""
    out.mkdir(parents=True, exist_ok=True)
    pictures: dict[str, tuple[Path, str]] = {}
    samplers = {"prior": "z ~ N(0, I), the prior"}
    if getattr(model, "code_sampler", None) is not None:
        samplers["gmm"] = (f"the {model.code_sampler.n_components}-component Gaussian mixture "
                           "fitted on the training set's codes (sampler=\"gmm\")")
    for kind, what in samplers.items():
        path = sample_grid(model.sample(SAMPLES, seed=SEED, sampler=kind),
                           out / f"samples_{kind}.png", columns=COLUMNS, dpi=DPI)
        pictures[f"samples_{kind}.png"] = (
            Path(path), f"{SAMPLES} samples drawn from {what}, seed {SEED}: "
            f"`model.sample({SAMPLES}, seed={SEED}, sampler=\"{kind}\")`.")
    path = reconstruction_grid(model, x_test[:COLUMNS], out / "reconstructions.png",
                               n=COLUMNS, dpi=DPI)
    pictures["reconstructions.png"] = (
        Path(path), f"The first {COLUMNS} {images} (top) and their "
        "reconstructions from the posterior mean (bottom).")
    image = x_test[TEST_IMAGE]
    dims = informative_dims(model, image[None])[:DIMS]
    grid = traverse(model, image, dims=dims, values=np.linspace(-SPAN, SPAN, COLUMNS + 1))
    path = traversal_grid(grid, out / "traversals.png", row_labels=[f"z{d}" for d in dims],
                          dpi=DPI)
    seen = RECIPES[name].traversal_notes if name in RECIPES else ""
    named = {int(d) for d in re.findall(r"\bz(\d+)\b", seen)}
    if not named <= {int(d) for d in dims}:
        raise SystemExit(
            f"{name}: its recipe's traversal_notes name {sorted(named - set(map(int, dims)))}, "
            f"which traversals.png (dimensions {[int(d) for d in dims]}) does not show: they "
            "describe other weights. Look at the new picture (--dry-run) and rewrite them.")
    pictures["traversals.png"] = (
        Path(path), f"Latent traversal of the first of those images: each row sweeps one of its "
        f"{len(dims)} most informative dimensions (largest KL first) from -{SPAN:g} to "
        f"{SPAN:g}, the others held at its code." + (f" What a person saw change: {seen}"
                                                     if seen else ""))
    return pictures


def test_images(name: str) -> tuple[np.ndarray, str]:
    """Images of the preset's recipe to draw, and what they are: its held-out `test["x"]`, or
    for dSprites (no split; training streams draws from every image) a fixed draw, seed 3."""
    test = RECIPES[name].data().test
    if "dataset" in test:
        images = test["dataset"].sample(COLUMNS, seed=3).images[..., None].astype("float32")
        return images, ("dSprites images (a fixed draw, seed 3; dSprites has no held-out split "
                        "and training streams draws from all of it)")
    return np.asarray(test["x"]), HELD_OUT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=list(PRESETS))
    parser.add_argument("--dry-run", action="store_true",
                        help="write the pictures to outputs/card_pictures/NAME, not the preset")
    args = parser.parse_args(argv)
    for name in args.names:
        folder = ROOT / "weights" / name
        model = kerasae.hub.load_preset(folder, compile=False)
        x_test, images = test_images(name)
        if args.dry_run:
            out = ROOT / "outputs" / "card_pictures" / name
            draw(name, model, x_test, out, images)
            print(f"{name}: pictures in {out}")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            pictures = draw(name, model, x_test, Path(tmp), images)
            set_preset_pictures(folder, pictures)
        print(f"{name}: {', '.join(pictures)} written into {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
