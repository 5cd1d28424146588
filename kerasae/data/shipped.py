"""The small samples shipped inside kerasae, by name: what model cards' sample checks use."""

from __future__ import annotations

import numpy as np

SHIPPED_SAMPLES = ("mnist", "ecg5000")


def shipped_sample(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, labels): "mnist" = the first 100 test images of the MNIST sample, (100, 28, 28, 1)
    in [0, 1]; "ecg5000" = 20 beats, (20, 140, 1), labels 1..5."""
    if name == "mnist":
        from kerasae.data.mnist import load_mnist_sample

        _, (x, y) = load_mnist_sample()
        return x[:100], y[:100].astype(np.int64)
    if name == "ecg5000":
        from kerasae.data.ecg import load_ecg5000_sample

        return load_ecg5000_sample()
    raise ValueError(f"unknown shipped sample {name!r}; expected one of {SHIPPED_SAMPLES}.")
