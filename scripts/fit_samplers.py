"""Fit a GMM code sampler for bundled presets and measure its samples against the prior's.

    KERAS_BACKEND=tensorflow python scripts/fit_samplers.py [NAME ...] [--dry-run]

For each preset: encode its training set (VAEs: the posterior mean), fit a 10-component
full-covariance Gaussian mixture (scikit-learn, seed 0) and write it as weights/NAME/sampler.npz
through kerasae.hub.set_preset_sampler, which keeps config.json and the weights byte for byte.
The measurements go into the card's metrics; sample grids go to outputs/samplers/. Rerunning
gives the same files on the same backend and library versions (sampler.npz is byte-identical
for the same fit).

Measured on 5,000 samples per sampler (seed 0):
- frechet_pixels_*: Frechet distance between Gaussians fitted to the samples and to the test
  images, in pixel space (CelebA: 4 x 4 average-pooled to 16 x 16 x 3; 1e-6 added to the
  covariances' diagonals), lower is closer;
- confident_digit_fraction_* (MNIST): the fraction of samples that a logistic regression on
  raw pixels (trained on 20,000 MNIST training images) classifies with probability > 0.9.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

import kerasae
from kerasae.apps.pictures import sample_grid
from kerasae.hub import read_metadata, set_preset_sampler
from kerasae.presets import RECIPES
from kerasae.presets.recipes import binarized_mnist
from kerasae.samplers import SAMPLER_METRIC_PREFIXES, fit_gmm

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"  # unless $KERASAE_DATA_DIR says otherwise
PRESETS = ("vae_mnist", "iwae_mnist", "conv_ae_mnist", "beta_vae_celeba")
# trained on dynamically binarised digits
BINARISED = tuple(n for n in PRESETS if RECIPES[n].data is binarized_mnist)
N_COMPONENTS, SEED, N_SAMPLES = 10, 0, 5000


def training_and_test(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(training inputs as the model saw them, test images, MNIST training labels or None)."""
    if name.endswith("_mnist"):
        from kerasae.data import load_mnist

        (x, _), (x_test, _) = load_mnist()
        train = x[:55000]
        if name in BINARISED:  # encode one fixed binarisation
            train = (np.random.default_rng(SEED).random(train.shape) < train).astype("float32")
        return train, x_test, None
    from kerasae.data import load_celeba64

    (x, _), (x_test, _) = load_celeba64()
    x = x[np.random.default_rng(0).permutation(len(x))]  # as kerasae.presets: last 500 held
    return x[:-500], x_test, None


def pooled(images: np.ndarray) -> np.ndarray:
    """Flat pixels; 64 x 64 colour images are 4 x 4 average-pooled first (768 values)."""
    if images.shape[1] > 28:
        n, h, w, c = images.shape
        images = images.reshape(n, h // 4, 4, w // 4, 4, c).mean(axis=(2, 4))
    return images.reshape(len(images), -1).astype("float64")


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to rows of a and of b."""
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    eye = np.eye(a.shape[1]) * 1e-6  # MNIST's constant border pixels make both singular
    cov_a, cov_b = np.cov(a, rowvar=False) + eye, np.cov(b, rowvar=False) + eye
    root = linalg.sqrtm(cov_a @ cov_b)
    root = root.real if np.iscomplexobj(root) else root
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def digit_classifier():
    from sklearn.linear_model import LogisticRegression

    from kerasae.data import load_mnist

    (x, y), _ = load_mnist()
    classifier = LogisticRegression(max_iter=300)
    classifier.fit(x[:20000].reshape(20000, -1), y[:20000])
    return classifier


def metric(value: float, description: str) -> dict:
    return {"value": float(f"{value:.6g}"), "split": "test", "description": description}


def measure(name: str, model, codes: np.ndarray, sampler, x_test: np.ndarray, classifier,
            out: Path) -> dict:
    draws = {"gmm": model.decode(sampler.sample(N_SAMPLES, seed=SEED))}
    single = fit_gmm(codes, n_components=1, seed=SEED)
    draws["gaussian"] = model.decode(single.sample(N_SAMPLES, seed=SEED))
    if hasattr(model, "encode_distribution"):
        draws["prior"] = model.sample(N_SAMPLES, seed=SEED)
    reference = pooled(x_test)
    what = {"prior": "z ~ N(0, I)", "gaussian": "one full-covariance Gaussian fitted to the "
            "training codes", "gmm": f"the {N_COMPONENTS}-component GMM on training codes"}
    found = {}
    for kind, images in draws.items():
        found[f"frechet_pixels_{kind}"] = metric(
            frechet(pooled(images), reference),
            f"Frechet distance of {N_SAMPLES} samples ({what[kind]}) to the test images in "
            "pixel space" + (" (4 x 4 pooled)" if images.shape[1] > 28 else "")
            + "; lower is closer (scripts/fit_samplers.py)")
        if classifier is not None:
            p = classifier.predict_proba(images.reshape(len(images), -1)).max(axis=1)
            found[f"confident_digit_fraction_{kind}"] = metric(
                float((p > 0.9).mean()),
                f"fraction of {N_SAMPLES} samples ({what[kind]}) a pixel logistic regression "
                "classifies with probability > 0.9 (scripts/fit_samplers.py)")
        sample_grid(images[:40], out / f"{name}_{kind}.png", columns=10,
                    title=f"{name}: {what[kind]}")
    if classifier is not None:
        p = classifier.predict_proba(x_test.reshape(len(x_test), -1)).max(axis=1)
        found["confident_digit_fraction_test_images"] = metric(
            float((p > 0.9).mean()), "the same fraction for the 10,000 real test images "
            "(reference; scripts/fit_samplers.py)")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=list(PRESETS))
    parser.add_argument("--dry-run", action="store_true", help="measure, write nothing")
    parser.add_argument("--out", default=str(ROOT / "outputs" / "samplers"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    classifier = None
    for name in args.names:
        folder = ROOT / "weights" / name
        model = kerasae.hub.load_preset(folder, compile=False)
        train, x_test, _ = training_and_test(name)
        codes = model.encode(train)
        sampler = fit_gmm(codes, n_components=N_COMPONENTS, seed=SEED)
        if name.endswith("_mnist") and classifier is None:
            classifier = digit_classifier()
        found = measure(name, model, codes, sampler, x_test,
                        classifier if name.endswith("_mnist") else None, out)
        for key, entry in sorted(found.items()):
            print(f"{name} {key} = {entry['value']}")
        if not args.dry_run:
            metrics = {k: v for k, v in read_metadata(folder)["metrics"].items()
                       if not k.startswith(SAMPLER_METRIC_PREFIXES)}
            set_preset_sampler(folder, sampler, metrics={**metrics, **found})
    return 0


if __name__ == "__main__":
    os.environ.setdefault("KERASAE_DATA_DIR", str(DATA))
    raise SystemExit(main())
