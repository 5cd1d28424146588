"""Argument, data and file checks that fail early with a message saying what was expected and
what came: the one home for validation in kerasae (models, apps, metrics, data and hub alike).

Keras and the backends would fail too, but deep inside a traced function and with a message about
tensors the user never created; these checks name the user's own argument instead. File hashes
are checked here too, so a preset and a dataset file fail the same way (IntegrityError).
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)


# ----- file integrity: the one sha256 check, for presets and datasets alike --------------------


class IntegrityError(ValueError):
    """A file is missing, truncated or altered: its sha256 is not the one recorded for it."""


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(what: str, actual: str, expected: str, hint: str = "Fetch it again.") -> None:
    """The one message for a hash mismatch: what, both hashes, and how to get a good copy."""
    if actual != expected:
        raise IntegrityError(
            f"{what} does not match its recorded sha256 (expected {expected}, got {actual}): it "
            f"is truncated or altered, or not the expected file. {hint}"
        )


# Files already verified in this process, by (path, size, mtime, expected digest).
_VERIFIED: set[tuple[str, int, int, str]] = set()


def verify_sha256(path: str | os.PathLike, expected: str, *, what: str | None = None,
                  hint: str = "Fetch it again.", remember: bool = False) -> None:
    """Raise IntegrityError when the file at `path` is missing or its sha256 is not `expected`.

    `remember`: skip hashing a file this process already verified unchanged (same size and
    mtime), for large datasets read many times; presets are always hashed afresh."""
    path = Path(path)
    what = what or str(path)
    if not path.is_file():
        raise IntegrityError(f"{what} is missing ({path}). {hint}")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected)
    if remember and key in _VERIFIED:
        return
    check_sha256(what, file_sha256(path), expected, hint)
    if remember:
        _VERIFIED.add(key)


# ----- arguments ----------------------------------------------------------------------------


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


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_int(value: Any, what: str, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer in [minimum, maximum] (no upper bound when maximum is None); bools, floats
    such as 2.0 and strings are refused."""
    if not _is_int(value) or value < minimum or (maximum is not None and value > maximum):
        if maximum is not None:
            expected = f"an integer in [{minimum}, {maximum}]"
        else:
            expected = {0: "a non-negative integer", 1: "a positive integer"}.get(
                minimum, f"an integer >= {minimum}")
        raise ValueError(f"{what} must be {expected}; got {value!r}.")
    return int(value)


def check_optional_positive_int(value: Any, what: str) -> int | None:
    """None (let the callee choose) or a positive integer, e.g. a batch size."""
    return None if value is None else check_int(value, what)


def check_seed(seed: Any) -> int | None:
    """None (fresh randomness), or a non-negative integer."""
    if seed is not None and not (_is_int(seed) and seed >= 0):
        raise ValueError(f"seed must be None or a non-negative integer; got {seed!r}.")
    return None if seed is None else int(seed)


def check_positive_float(value: Any, what: str) -> float:
    """A finite number > 0 (bools refused)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.number))
        or not np.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{what} must be a positive finite number; got {value!r}.")
    return float(value)


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
        units = tuple(check_int(v, what) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} must be a sequence of positive integers such as (256, 128); got {value!r}."
        ) from None
    return units


def check_range(value: Any, low: float, high: float, what: str, *, inclusive: bool = True,
                open_low: bool = False) -> float:
    """A finite number in [low, high]; (low, high) when not `inclusive`, (low, high] with
    `open_low`."""
    is_number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    # Compare only numbers: a string or None would raise TypeError instead of this ValueError.
    above = is_number and (low < value if open_low or not inclusive else low <= value)
    below = is_number and (value <= high if inclusive else value < high)
    bounds = f"{'[' if inclusive and not open_low else '('}{low}, {high}{']' if inclusive else ')'}"
    if not (above and below):
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
    # One min and one max, no temporaries: NaN propagates into them, infinity shows in them,
    # and they bound |value| for float32's range and the cross-entropy range alike.
    floating = np.issubdtype(array.dtype, np.floating)
    if floating or value_range is not None:
        low, high = float(array.min()), float(array.max())
    if floating and not (np.isfinite(low) and np.isfinite(high)):
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{what} contains {bad} NaN or infinite values; expected finite numbers.")
    if floating and max(-low, high) > FLOAT32_MAX:
        big = int(np.count_nonzero(np.abs(array) > FLOAT32_MAX))
        raise ValueError(
            f"{what} contains {big} values beyond float32's range (|value| > "
            f"{FLOAT32_MAX:.4g}, largest {max(-low, high):.4g}); the models "
            "compute in float32. Rescale the data, e.g. standardise it."
        )
    array = array.astype("float32", copy=False)
    if value_range is not None:
        low, high = float(np.float32(low)), float(np.float32(high))  # as the cast array's
        if low < value_range[0] or high > value_range[1]:
            raise ValueError(
                f"{what} must lie in [{value_range[0]}, {value_range[1]}] for this model's "
                f"cross-entropy reconstruction loss; got values in [{low:g}, {high:g}]. "
                "Scale the data (e.g. x / 255) or use reconstruction_loss='mse'."
            )
    return array


# ----- arrays given to the metrics and apps: any shape, checked as float64 ----------------------


def to_numpy(value: Any) -> np.ndarray:
    """numpy view of an array, list or backend tensor/variable (a Keras kernel on any backend)."""
    try:
        return np.asarray(value)
    except (TypeError, ValueError, RuntimeError):
        from keras import ops  # tensors that refuse __array__ (torch parameters with grad)

        return np.asarray(ops.convert_to_numpy(value))


def numbers(
    value: Any,
    what: str,
    *,
    ndim: int | None = None,
    min_ndim: int | None = None,
    min_rows: int = 1,
) -> np.ndarray:
    """A finite float64 array with the required rank and at least `min_rows` entries on axis 0."""
    try:
        array = to_numpy(value)
    except Exception as error:  # ragged lists and the like
        raise ValueError(f"{what} must be a numeric array; {error}") from None
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
    ):
        raise ValueError(f"{what} must hold numbers; got an array of dtype {array.dtype}.")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{what} must be a {ndim}-D array; got shape {array.shape}.")
    if min_ndim is not None and array.ndim < min_ndim:
        raise ValueError(
            f"{what} must have at least {min_ndim} axes (a batch axis first); "
            f"got shape {array.shape}."
        )
    if array.ndim == 0 or array.shape[0] < min_rows:
        raise ValueError(
            f"{what} must have at least {min_rows} row(s) on its first axis; "
            f"got shape {array.shape}."
        )
    array = array.astype("float64", copy=False)
    if not np.all(np.isfinite(array)):
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{what} contains {bad} NaN or infinite values; expected finite numbers.")
    return array


def rows(value: Any, what: str, *, min_rows: int = 1) -> np.ndarray:
    """A batch of examples of any shape, flattened to a finite float64 (N, D) matrix."""
    array = numbers(value, what, min_ndim=1, min_rows=min_rows)
    return array.reshape(len(array), -1)


def integer_labels(value: Any, what: str, length: int | None = None) -> np.ndarray:
    """A 1-D int64 array of whole numbers (class indices or factor values)."""
    array = numbers(value, what, ndim=1, min_rows=0)
    if not np.all(array == np.round(array)):
        raise ValueError(f"{what} must hold whole numbers (class indices); got fractional values.")
    if length is not None and len(array) != length:
        raise ValueError(f"{what} must have {length} entries, one per example; got {len(array)}.")
    return array.astype("int64")


def binary_labels(value: Any, what: str, length: int) -> np.ndarray:
    """A 1-D bool array from 0/1 or False/True labels (1 = positive, e.g. anomalous)."""
    array = numbers(value, what, ndim=1, min_rows=0)
    if len(array) != length:
        raise ValueError(f"{what} must have {length} entries, one per score; got {len(array)}.")
    if not np.all((array == 0) | (array == 1)):
        found = np.unique(array)[:5].tolist()
        raise ValueError(f"{what} must hold 0 (negative) or 1 (positive); found values {found}.")
    return array.astype(bool)


def same_length(*pairs: tuple[str, np.ndarray]) -> int:
    """The common length of several arrays, or a ValueError naming them all."""
    lengths = {name: len(array) for name, array in pairs}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"expected one row per example in each array; {described}.")
    return next(iter(lengths.values()))


def _fmt(shape: tuple[int, ...]) -> str:
    return ", ".join(str(d) for d in shape)
