"""A variant's config is its single source of truth: presets and .keras files store the variant
and its options, and loading rebuilds through the builder; old full-graph presets still load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import kerasae

OLD = Path(__file__).parent / "fixtures" / "old_format"


@pytest.mark.parametrize("name", ["vae_dense", "conv_ae"])
def test_old_format_presets_load_and_give_their_recorded_outputs(name):
    """Catches: presets already on the Hub (full-graph config.json) no longer loading, or
    loading into a model that computes something else."""
    expected = np.load(OLD / "expected.npz")
    model = kerasae.load(OLD / name, compile=False)
    x = expected[f"{name}__x"]
    np.testing.assert_allclose(model.encode(x), expected[f"{name}__encode"], atol=1e-5)
    np.testing.assert_allclose(model.reconstruct(x), expected[f"{name}__reconstruct"], atol=1e-5)
    np.testing.assert_allclose(model.reconstruction_error(x), expected[f"{name}__error"],
                               rtol=1e-5, atol=1e-5)
