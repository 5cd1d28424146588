"""File hashes, finite weights and atomic folder writes: a preset is complete or absent, never
half, and never holds NaN."""

from __future__ import annotations

import keras
import numpy as np

from kerasae._atomic import atomic_directory, atomic_file, check_target, clean_leftovers
from kerasae._checks import IntegrityError
from kerasae._checks import file_sha256 as sha256
from kerasae.hub._meta import verify_files


def nonfinite_weights(model: keras.Model) -> list[str]:
    """Paths of the model's floating-point variables that hold NaN or infinity (a fit that
    diverged, or data with NaN): such weights are never saved or loaded."""
    bad = []
    for variable in model.weights:
        value = np.asarray(keras.ops.convert_to_numpy(variable))
        if value.dtype.kind in "fc" and not np.isfinite(value).all():
            bad.append(variable.path)
    return bad


__all__ = [
    "IntegrityError",
    "atomic_directory",
    "atomic_file",
    "check_target",
    "clean_leftovers",
    "nonfinite_weights",
    "sha256",
    "verify_files",
]
