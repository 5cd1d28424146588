"""The small samples shipped inside kerasae, by name: what model cards' sample checks use."""

from __future__ import annotations

import numpy as np

from kerasae.data.dsprites import DSprites
from kerasae.data.ecg import load_ecg5000_sample
from kerasae.data.faces import load_olivetti_sample
from kerasae.data.mnist import load_mnist_sample

SHIPPED_SAMPLES = ("mnist", "ecg5000", "dsprites", "gratings", "faces")


def shipped_sample(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, labels): "mnist" = the first 100 test images of the MNIST sample, (100, 28, 28, 1)
    in [0, 1]; "ecg5000" = 20 beats, (20, 140, 1), labels 1..5; "dsprites" = 32 dSprites
    images (32, 64, 64, 1) and their indices; "gratings" = 16 sine gratings (16, 100);
    "faces" = 16 Olivetti faces as grey RGB (16, 64, 64, 3) and subject ids."""
    if name == "mnist":
        _, (x, y) = load_mnist_sample()
        return x[:100], y[:100].astype(np.int64)
    if name == "ecg5000":
        return load_ecg5000_sample()
    if name == "dsprites":  # rendered by kerasae itself, so nothing needs shipping
        data = DSprites()
        indices = np.linspace(0, len(data) - 1, 32).astype(np.int64)
        return data.images(indices)[..., None].astype(np.float32), indices
    if name == "gratings":  # deterministic 10 x 10 sine gratings in [0.1, 0.9], flattened
        grid = np.arange(10, dtype=np.float64)
        angles = np.linspace(0, np.pi, 16, endpoint=False)
        waves = [np.sin(0.9 * (np.cos(a) * grid[None, :] + np.sin(a) * grid[:, None]))
                 for a in angles]
        x = 0.5 + 0.4 * np.stack(waves).reshape(16, 100)
        return x.astype(np.float32), np.arange(16)
    if name == "faces":  # 16 Olivetti faces as RGB, for presets trained on CelebA
        return load_olivetti_sample(channels=3)
    raise ValueError(f"unknown shipped sample {name!r}; expected one of {SHIPPED_SAMPLES}.")
