"""MNIST: the sample bundled with kerasae, and the full set from a directory of npz files."""

from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path

import numpy as np

SAMPLE_SHA256 = "014ff4b1a855c54d171d1a732e76e818a722746d3e3ea044422d7275ec6227a5"
FULL_SHA256 = {
    "train.npz": "11bf48d67d8e90b9d940549ce9565b4921ad2ec150e4491e0c670aeb165169a9",
    "test.npz": "3ba302235efdc3e7e4e84db9ce6a6d6cbc9dd1162d4e79dd0b6a606afc745423",
}
Split = tuple[np.ndarray, np.ndarray]


def load_mnist_sample() -> tuple[Split, Split]:
    """2,000 training and 500 test digits shipped with kerasae (CC BY-SA 3.0, see assets/).

    Images are float32 in [0, 1] with shape (N, 28, 28, 1); labels are uint8.
    """
    path = resources.files("kerasae") / "assets" / "mnist_sample.npz"
    with resources.as_file(path) as file:
        _verify(Path(file), SAMPLE_SHA256)
        with np.load(file) as arrays:
            return (
                (_images(arrays["x_train"]), arrays["y_train"]),
                (_images(arrays["x_test"]), arrays["y_test"]),
            )


def load_mnist(directory: str | os.PathLike | None = None) -> tuple[Split, Split]:
    """The full MNIST from `directory` (or $KERASAE_MNIST_DIR) holding train.npz and test.npz,
    each with uint8 arrays `x` (N, 28, 28) and `y` (N,), as `keras.datasets.mnist` has them.

    Returns ((x_train, y_train), (x_test, y_test)) with images float32 in [0, 1], (N, 28, 28, 1).
    """
    directory = directory or os.environ.get("KERASAE_MNIST_DIR")
    if directory is None:
        raise ValueError(
            "load_mnist needs a directory with train.npz and test.npz (arrays x, y), given as "
            "an argument or in $KERASAE_MNIST_DIR; keras.datasets.mnist.load_data() can make them."
        )
    splits = []
    for name, count in (("train.npz", 60000), ("test.npz", 10000)):
        path = Path(directory) / name
        if not path.is_file():
            raise FileNotFoundError(
                f"MNIST file {path} is missing; expected {name} in {directory}."
            )
        _verify(path, FULL_SHA256[name])
        with np.load(path) as arrays:
            x, y = arrays["x"], arrays["y"]
        if x.shape != (count, 28, 28) or x.dtype != np.uint8 or y.shape != (count,):
            raise ValueError(
                f"{path}: expected x uint8 ({count}, 28, 28) and y ({count},); "
                f"got x {x.dtype} {x.shape} and y {y.shape}."
            )
        splits.append((_images(x), y))
    return splits[0], splits[1]


def _images(x: np.ndarray) -> np.ndarray:
    return (x.astype("float32") / 255.0)[..., None]


def _verify(path: Path, expected: str) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise ValueError(
            f"{path} is corrupt or not the expected file: sha256 {digest}, expected {expected}."
        )
