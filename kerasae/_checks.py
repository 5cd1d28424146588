"""Argument and data checks that fail early with a message saying what was expected and what came.

Keras and the backends would fail too, but deep inside a traced function and with a message about
tensors the user never created; these checks name the user's own argument instead.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def closest(name: str, choices: Iterable[str]) -> str:
    """A ' Did you mean ...?' hint, or '' when nothing is close."""
    matches = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f" Did you mean {', '.join(repr(m) for m in matches)}?" if matches else ""


def check_choice(value: Any, choices: Sequence[str], what: str) -> str:
    if value not in choices:
        raise ValueError(
            f"{what} must be one of {list(choices)}; got {value!r}.{closest(str(value), choices)}"
        )
    return value


def check_shape(shape: Any, what: str = "input_shape") -> tuple[int, ...]:
    """A per-example shape: a non-empty tuple of positive ints, batch axis excluded."""
    try:
        dims = tuple(int(d) for d in shape)
        valid = len(dims) > 0 and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and d > 0
            for d, s in zip(dims, shape, strict=True))
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            f"{what} must be a tuple of positive integers without the batch axis, "
            f"e.g. (784,) or (28, 28, 1); got {shape!r}."
        )
    return dims


def check_positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{what} must be a positive integer; got {value!r}.")
    return int(value)


def check_optional_positive_int(value: Any, what: str) -> int | None:
    """None (let the callee choose) or a positive integer, e.g. a batch size."""
    return None if value is None else check_positive_int(value, what)


def check_labels(labels: Any, n: int, num_classes: int, what: str = "condition") -> np.ndarray:
    """Integer class labels in [0, num_classes), one per example (a scalar is broadcast), as
    int32."""
    try:
        labels = np.asarray(labels)
    except Exception as error:
        raise ValueError(f"{what} must be {n} integer class labels; {error}") from None
    if labels.ndim == 0:
        labels = np.full((n,), labels)
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{what} must be {n} integer class labels, shape ({n},); got "
            f"shape {labels.shape} and dtype {labels.dtype}."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{what} labels must lie in [0, {num_classes}); got values in "
            f"[{labels.min()}, {labels.max()}]."
        )
    return labels.astype("int32")


def check_units(value: Any, what: str) -> tuple[int, ...]:
    """A sequence of layer widths (possibly empty)."""
    if isinstance(value, (int, np.integer)):
        value = (value,)
    try:
        units = tuple(check_positive_int(v, what) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} must be a sequence of positive integers such as (256, 128); got {value!r}."
        ) from None
    return units


def check_range(value: Any, low: float, high: float, what: str, *, inclusive: bool = True) -> float:
    is_number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    # Compare only numbers: a string or None would raise TypeError instead of this ValueError.
    ok = is_number and (low <= value <= high if inclusive else low < value < high)
    bounds = f"[{low}, {high}]" if inclusive else f"({low}, {high})"
    if not ok:
        raise ValueError(f"{what} must be a number in {bounds}; got {value!r}.")
    if not np.isfinite(value):
        raise ValueError(f"{what} must be a finite number in {bounds}; got {value!r}.")
    return float(value)


def check_data(
    x: Any,
    expected_shape: tuple[int, ...],
    what: str = "x",
    value_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Validate a batch of examples and return it as float32.

    `expected_shape` is the per-example shape; `value_range` is checked when the model's
    likelihood only makes sense there (cross-entropy needs data in [0, 1]).
    """
    try:
        array = np.asarray(x)
    except Exception as error:  # ragged lists and the like
        raise ValueError(
            f"{what} must be an array of shape (N, {_fmt(expected_shape)}); {error}"
        ) from None
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
    ):
        raise ValueError(f"{what} must hold numbers; got an array of dtype {array.dtype}.")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(
            f"{what} must hold real numbers; got an array of dtype {array.dtype}. Pass the real "
            "part, the magnitude or both as channels (np.abs(x), np.stack([x.real, x.imag], -1))."
        )
    if array.shape[1:] != tuple(expected_shape):
        hint = ""
        if array.shape == tuple(expected_shape):
            hint = " It looks like a single example: add a batch axis, e.g. x[None]."
        raise ValueError(
            f"{what} must have shape (N, {_fmt(expected_shape)}); got {array.shape}.{hint}"
        )
    if array.shape[0] == 0:
        raise ValueError(f"{what} has no examples; expected shape (N, {_fmt(expected_shape)}) "
                         "with N >= 1.")
    if np.issubdtype(array.dtype, np.floating):
        finite = np.isfinite(array)
        if not finite.all():
            bad = int(finite.size - np.count_nonzero(finite))
            raise ValueError(
                f"{what} contains {bad} NaN or infinite values; expected finite numbers.")
        if array.dtype.itemsize > 4 and array.size:
            big = int(np.count_nonzero(np.abs(array) > FLOAT32_MAX))
            if big:
                raise ValueError(
                    f"{what} contains {big} values beyond float32's range (|value| > "
                    f"{FLOAT32_MAX:.4g}, largest {float(np.abs(array).max()):.4g}); the models "
                    "compute in float32. Rescale the data, e.g. standardise it."
                )
    array = array.astype("float32", copy=False)
    if value_range is not None and array.size:
        low, high = float(array.min()), float(array.max())
        if low < value_range[0] or high > value_range[1]:
            raise ValueError(
                f"{what} must lie in [{value_range[0]}, {value_range[1]}] for this model's "
                f"cross-entropy reconstruction loss; got values in [{low:g}, {high:g}]. "
                "Scale the data (e.g. x / 255) or use reconstruction_loss='mse'."
            )
    return array


def _fmt(shape: tuple[int, ...]) -> str:
    return ", ".join(str(d) for d in shape)
