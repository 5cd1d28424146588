"""File hashes, finite weights and atomic folder writes: a preset is complete or absent, never
half, and never holds NaN."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from kerasae._atomic import atomic_directory, atomic_file, check_target, clean_leftovers
from kerasae._checks import file_sha256 as sha256


class IntegrityError(ValueError):
    """A preset file is missing, truncated or altered."""


def verify_files(directory: Path, expected: dict[str, str]) -> None:
    """Check every listed file against its sha256; name the first bad file."""
    for name, digest in expected.items():
        path = directory / name
        if not path.is_file():
            raise IntegrityError(f"preset file {path} is missing; the preset lists it in metadata.")
        actual = sha256(path)
        if actual != digest:
            raise IntegrityError(
                f"preset file {path} does not match its recorded sha256 (expected {digest}, got "
                f"{actual}): it is truncated or altered. Nothing was changed on disk; fetch the "
                "preset again (for hf:// handles: huggingface_hub's force_download=True)."
            )


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
