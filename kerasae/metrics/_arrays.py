"""Input checks shared by the metrics: each names the caller's argument and says what came."""

from __future__ import annotations

from typing import Any

import numpy as np


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


def positive_int(value: Any, what: str, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer in [minimum, maximum] (no upper bound when maximum is None); bools refused."""
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not is_int or value < minimum or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{what} must be an integer {bounds}; got {value!r}.")
    return int(value)


def positive_float(value: Any, what: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.number))
        or not np.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{what} must be a positive finite number; got {value!r}.")
    return float(value)
