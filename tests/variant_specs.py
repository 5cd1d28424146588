"""Tiny build arguments and data for every variant, shared by the tests that loop over the zoo.

A spec: `kwargs` for kerasae.build, `data(n, seed)` -> x, and `condition(n, seed)` -> labels for
conditional variants (None otherwise). Sizes are small so each backend's run stays fast.
"""

from __future__ import annotations

import numpy as np


def images(n: int, seed: int = 0, size: int = 8) -> np.ndarray:
    """Structured [0, 1] images: blurry bars at random positions (not noise)."""
    rng = np.random.default_rng(seed)
    grid = np.arange(size, dtype="float32")
    centre = rng.uniform(1, size - 2, size=(n, 1, 1))
    vertical = rng.random((n, 1, 1)) < 0.5
    coord = np.where(vertical, grid[None, None, :], grid[None, :, None])
    x = np.exp(-0.5 * (coord - centre) ** 2)
    return x[..., None].astype("float32")


def vectors(n: int, seed: int = 0, dim: int = 16) -> np.ndarray:
    return images(n, seed, size=4).reshape(n, dim)


def sequences(n: int, seed: int = 0, steps: int = 12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, steps, dtype="float32")
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    return np.sin(t[None, :] + phase)[..., None].astype("float32")


def labels(n: int, seed: int = 0, classes: int = 3) -> np.ndarray:
    return np.random.default_rng(seed + 1).integers(0, classes, size=n)


IMG = {"input_shape": (8, 8, 1), "latent_dim": 4}
VEC = {"input_shape": (16,), "latent_dim": 4}

SPECS: dict[str, dict] = {
    "ae": {"kwargs": {**VEC, "hidden_units": (16,)}, "data": vectors},
    "linear_ae": {"kwargs": VEC, "data": vectors},
    "deep_ae": {"kwargs": {**VEC, "hidden_units": (32, 16, 8)}, "data": vectors},
    "conv_ae": {"kwargs": {**IMG, "filters": (4, 8)}, "data": images},
    "lstm_ae": {"kwargs": {"input_shape": (12, 1), "latent_dim": 4, "units": (8,)},
                "data": sequences},
    "sparse_ae": {"kwargs": {**VEC, "latent_dim": 24, "rho": 0.1}, "data": vectors},
    "contractive_ae": {"kwargs": VEC, "data": vectors},
    "denoising_ae": {"kwargs": {**VEC, "hidden_units": (16,), "noise": "masking",
                                "noise_level": 0.3, "seed": 1}, "data": vectors},
    "vae": {"kwargs": {**VEC, "hidden_units": (16,)}, "data": vectors},
    "beta_vae": {"kwargs": {**VEC, "hidden_units": (16,), "beta": 4.0}, "data": vectors},
    "beta_tcvae": {"kwargs": {**VEC, "hidden_units": (16,), "beta": 6.0, "dataset_size": 64},
                   "data": vectors},
    "iwae": {"kwargs": {**VEC, "hidden_units": (16,), "importance_samples": 4},
             "data": vectors},
    "cvae": {"kwargs": {**VEC, "hidden_units": (16,), "num_classes": 3}, "data": vectors,
             "condition": labels},
    "masked_ae": {"kwargs": {**IMG, "patch_size": 4}, "data": images},
}


def fit_inputs(name: str, n: int, seed: int = 0):
    """What `model.fit` takes for this variant: x, or [x, labels] for conditional ones."""
    spec = SPECS[name]
    x = spec["data"](n, seed)
    cond = spec.get("condition")
    return [x, cond(n, seed)] if cond else x


def method_kwargs(name: str, n: int, seed: int = 0) -> dict:
    """condition=... for the numpy methods of conditional variants, else nothing."""
    cond = SPECS[name].get("condition")
    return {"condition": cond(n, seed)} if cond else {}
