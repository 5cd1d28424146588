"""Reconstruction quality in the units image people report: peak signal-to-noise ratio."""

from __future__ import annotations

import numpy as np

from kerasae._checks import check_positive_float, numbers


def psnr(x, y, data_range: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio of each example, in dB, shape (N,).

    PSNR_i = 10 log10(data_range^2 / MSE_i), MSE_i the mean squared difference over example i's
    elements. It is per example because a dataset's PSNR is conventionally the mean of the
    per-image values (`psnr(x, y).mean()`), not the PSNR of the pooled MSE, and per-example
    values show the spread. `data_range` is the span of valid values (1.0 for data in [0, 1],
    255 for bytes). Identical examples give +inf.
    """
    x = numbers(x, "x", min_ndim=2)
    y = numbers(y, "y", min_ndim=2)
    if x.shape != y.shape:
        raise ValueError(
            f"x and y must have the same shape (N, ...); got {x.shape} and {y.shape}."
        )
    data_range = check_positive_float(data_range, "data_range")
    mse = np.mean(np.square(x - y).reshape(len(x), -1), axis=1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(data_range**2 / mse)
