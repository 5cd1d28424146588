"""Global contrast normalisation and per-class min-max scaling: the preprocessing of the one-class
protocol of Ruff et al. (Deep SVDD, ICML 2018).

Each image loses its own mean and is divided by its contrast, so that brightness and stroke
weight matter less than shape; then one min and one max, measured on the normal class's training
images, map that class into [0, 1]. Apply the same fitted transform to test images (anomalies
may then fall outside [0, 1]: that is part of what makes them anomalous).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerasae._checks import check_choice, numbers

SCALES = ("l1", "l2")


def global_contrast_normalize(x, scale: str = "l1") -> np.ndarray:
    """Per image: subtract its mean pixel, divide by its contrast; float32, same shape as `x`.

    `x` is a batch (N, ...) of at least one image. `scale` "l1" divides by the mean absolute
    deviation (the L1 norm of the centred image over its number of pixels, as Ruff et al. do);
    "l2" by the root-mean-square deviation (the image's standard deviation). A constant image
    has no contrast and raises ValueError."""
    check_choice(scale, SCALES, "scale")
    array = numbers(x, "x", min_ndim=2)
    flat = array.reshape(len(array), -1)
    centred = flat - flat.mean(axis=1, keepdims=True)
    if scale == "l1":
        contrast = np.abs(centred).mean(axis=1, keepdims=True)
    else:
        contrast = np.sqrt((centred**2).mean(axis=1, keepdims=True))
    flat_images = np.flatnonzero(contrast[:, 0] <= 0)
    if len(flat_images):
        raise ValueError(
            f"x holds {len(flat_images)} constant image(s) (first at index {flat_images[0]}): "
            "they have no contrast to normalise. Remove them first.")
    return (centred / contrast).reshape(array.shape).astype("float32")


@dataclass(frozen=True)
class ContrastMinMax:
    """Global contrast normalisation, then (z - low) / (high - low) with the low and high of the
    normalised images it was fitted on (`ContrastMinMax.fit(x_normal)`); call it on any images.

    `inverse` undoes the min-max step only: contrast normalisation forgets each image's own
    mean and contrast."""

    low: float
    high: float
    scale: str = "l1"

    def __post_init__(self):
        check_choice(self.scale, SCALES, "scale")
        finite = all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                     and np.isfinite(v) for v in (self.low, self.high))
        if not finite or not self.low < self.high:
            raise ValueError(f"low and high must be finite numbers with low < high; got "
                             f"low={self.low!r}, high={self.high!r}.")

    @classmethod
    def fit(cls, x, scale: str = "l1") -> ContrastMinMax:
        """Fit on the normal class's training images (N, ...)."""
        z = global_contrast_normalize(x, scale)
        return cls(float(z.min()), float(z.max()), scale)

    def __call__(self, x) -> np.ndarray:
        z = global_contrast_normalize(x, self.scale).astype("float64")
        return ((z - self.low) / (self.high - self.low)).astype("float32")

    def inverse(self, y) -> np.ndarray:
        """Scaled images back to contrast-normalised ones."""
        array = numbers(y, "y", min_ndim=2)
        return (array * (self.high - self.low) + self.low).astype("float32")
