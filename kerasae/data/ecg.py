"""ECG heartbeats from the UCR archive: ECG5000 (train split) and ECG200, plus the anomaly split
that trains on normal beats only and tests on held-out normal and abnormal beats."""

from __future__ import annotations

import os
from importlib import resources
from typing import NamedTuple

import numpy as np

from kerasae.data._files import DataSource, check_array, load_npz, require_files, verify_file

Split = tuple[np.ndarray, np.ndarray]

_UCR_TERMS = (
    "UCR Time Series Classification Archive: free for research; cite the archive "
    "(Dau et al. 2019, 'The UCR Time Series Archive'; Chen et al. 2015)."
)
ECG5000 = DataSource(
    name="ecg5000",
    title="ECG5000",
    licence=(
        _UCR_TERMS + " ECG5000 was donated by Y. Chen and E. Keogh and derives from PhysioNet's "
        "BIDMC Congestive Heart Failure Database (record chf07, open access; Goldberger et al. "
        "2000)."
    ),
    citation="Chen et al. 2015, UCR archive; Goldberger et al. 2000, PhysioNet",
    sha256={"train.npz": "931bf6b2167072891dcc16ccade703350e2173bf450894835f2a9745b0a2895f"},
)
ECG200 = DataSource(
    name="ecg200",
    title="ECG200",
    licence=_UCR_TERMS + " ECG200 comes from R. Olszewski's 2001 thesis (CMU).",
    citation="Olszewski 2001; UCR archive (Dau et al. 2019)",
    sha256={
        "train.npz": "bfd10f091e4387bf0511d6a0176834003830fc8f8073b96d8a4f5119a3155753",
        "test.npz": "1ea1308bbb490dc1f9e80495c161b99aa1ee26b9b6b42272fd564f93dc0d1551",
    },
)

NORMAL_CLASS = 1  # ECG5000: class 1 is a normal beat, classes 2-5 are abnormal


def load_ecg5000(
    directory: str | os.PathLike | None = None, *, verify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The 500 beats of the ECG5000 TRAIN split (the 4,500-beat TEST split is not included).

    The folder (argument, else $KERASAE_ECG5000_DIR, else $KERASAE_DATA_DIR/ecg5000) holds
    `train.npz` with `x` float (500, 140) and `y` int (500,).

    Returns (x, y): x float32 (500, 140), each beat z-normalised as in UCR; y int64 classes 1..5
    (1 normal; 2 R-on-T PVC, 3 PVC, 4 SP or EB, 5 unclassified). See `ecg5000_anomaly_split`.
    """
    (path,) = require_files(ECG5000, directory, ["train.npz"], verify=verify)
    return _read(path, (500, 140))


def load_ecg200(
    directory: str | os.PathLike | None = None, *, verify: bool = True
) -> tuple[Split, Split]:
    """ECG200 (UCR): 100 train and 100 test beats of 96 samples, normal vs myocardial infarction.

    The folder (argument, else $KERASAE_ECG200_DIR, else $KERASAE_DATA_DIR/ecg200) holds
    `train.npz` and `test.npz`, each with `x` float (100, 96) and `y` int (100,).

    Returns ((x_train, y_train), (x_test, y_test)): x float32 (100, 96); y int64, 1 = normal,
    -1 = abnormal, as in the UCR files.
    """
    paths = require_files(ECG200, directory, ["train.npz", "test.npz"], verify=verify)
    train, test = (_read(path, (100, 96)) for path in paths)
    return train, test


def _read(path, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    arrays = load_npz(path, ["x", "y"])
    x = check_array(arrays["x"], f"{path} x", shape=shape, dtype="f")
    y = check_array(arrays["y"], f"{path} y", shape=shape[:1], dtype="iu")
    return x.astype(np.float32), y.astype(np.int64)


def as_sequences(x: np.ndarray) -> np.ndarray:
    """Series (N, timesteps) -> float32 (N, timesteps, 1), the shape sequence (LSTM / conv1d)
    models take. Arrays that already have the feature axis are returned as float32 unchanged."""
    x = np.asarray(x)
    if x.ndim == 2:
        return x.astype(np.float32)[..., None]
    if x.ndim == 3:
        return x.astype(np.float32)
    raise ValueError(
        f"as_sequences expects series of shape (N, timesteps) or (N, timesteps, features); "
        f"got shape {x.shape}."
    )


class AnomalySplit(NamedTuple):
    """Normal beats to train on, and a disjoint test set with binary labels (1 = anomaly).

    `train_index` and `test_index` index the arrays given to the split function."""

    x_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    train_index: np.ndarray
    test_index: np.ndarray


def ecg5000_anomaly_split(
    x: np.ndarray,
    y: np.ndarray,
    test_fraction: float = 0.2,
    seed: int = 0,
    normal_class: int = NORMAL_CLASS,
) -> AnomalySplit:
    """The usual ECG anomaly-detection protocol: train on normal beats only; test on held-out
    normal beats plus every abnormal beat, none of which is ever seen in training.

    A fraction `test_fraction` of the normal beats (class `normal_class`, 1 for ECG5000), drawn
    with `seed`, goes to the test set with all the abnormal beats; the remaining normal beats
    are the training set. Test labels are 1 for an anomaly (any other class) and 0 for normal.
    Works for any labelled series (e.g. ECG200 with normal_class=1).
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length; got {len(x)} and {len(y)}.")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction}.")
    normal = np.flatnonzero(y == normal_class)
    if len(normal) < 2:
        raise ValueError(
            f"need at least 2 normal examples (class {normal_class}); got {len(normal)}."
        )
    rng = np.random.default_rng(seed)
    normal = rng.permutation(normal)
    n_test = min(max(int(round(test_fraction * len(normal))), 1), len(normal) - 1)
    train_index = np.sort(normal[n_test:])
    test_index = np.concatenate([normal[:n_test], np.flatnonzero(y != normal_class)])
    test_index = rng.permutation(test_index)
    y_test = (y[test_index] != normal_class).astype(np.int64)
    return AnomalySplit(x[train_index], x[test_index], y_test, train_index, test_index)


ECG5000_SAMPLE_SHA256 = "a595a5024111d277524027c3b23e26ab084bbd682bd9fabbcbadb47f25a461cb"


def load_ecg5000_sample() -> tuple[np.ndarray, np.ndarray]:
    """20 ECG5000 beats shipped with kerasae (10 normal, class 1, and 10 abnormal), float32
    (20, 140, 1) and labels 1..5: enough to check a preset without the dataset."""
    path = resources.files("kerasae") / "assets" / "ecg5000_sample.npz"
    with resources.as_file(path) as file:
        verify_file(file, ECG5000_SAMPLE_SHA256)
        with np.load(file) as arrays:
            return as_sequences(arrays["x"]).astype(np.float32), arrays["y"]
