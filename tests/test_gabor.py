"""kerasae.metrics.gabor_fit: the number behind "the hidden units are edge detectors"."""

from __future__ import annotations

import numpy as np
import pytest

from kerasae.metrics import gabor, gabor_fit
from kerasae.metrics.gabor import _gabor_and_jacobian

PARAMS = [4.3, 5.1, 0.7, 1.5, 2.5, 0.2, 1.0, 1.3, 0.1]


def test_a_noisy_gabor_is_explained_and_white_noise_is_not():
    """Catches a fit that fails on the shape it models, or one so flexible it fits noise."""
    rng = np.random.default_rng(1)
    edges = np.stack([gabor(PARAMS, (10, 10)), gabor([6, 3, 2.0, 2.0, 1.2, 0.12, 0.0, -1, 0],
                                                     (10, 10))])
    noisy = edges + 0.05 * rng.normal(size=edges.shape)
    assert np.all(gabor_fit(noisy, restarts=1) > 0.9)  # the noise caps R^2 near 0.95
    noise = gabor_fit(rng.normal(size=(3, 10, 10)), restarts=1)
    assert np.all(noise < 0.45) and np.all(noise > 0.0)


def test_flattened_units_need_their_patch_shape_and_give_the_same_answer():
    """Catches a reshape that scrambles pixels (a wrong patch_shape order or transposition)."""
    unit = gabor([3.0, 7.0, 0.3, 1.2, 2.0, 0.25, 0.5, 1.0, 0.0], (8, 12))[None]
    flat = gabor_fit(unit.reshape(1, -1), patch_shape=(8, 12), restarts=0)
    np.testing.assert_allclose(flat, gabor_fit(unit, restarts=0))
    assert flat[0] > 0.99
    with pytest.raises(ValueError, match="patch_shape"):
        gabor_fit(unit.reshape(1, -1), patch_shape=(10, 10))
    with pytest.raises(ValueError, match="height, width"):
        gabor_fit(unit.reshape(1, -1))


def test_same_seed_same_numbers_and_constant_unit_scores_zero():
    """Catches unseeded restarts (numbers that change from run to run) and 0/0 on a flat unit."""
    units = np.random.default_rng(2).normal(size=(2, 6, 6))
    np.testing.assert_array_equal(gabor_fit(units, restarts=1, seed=3),
                                  gabor_fit(units, restarts=1, seed=3))
    assert gabor_fit(np.ones((1, 6, 6)))[0] == 0.0
    with pytest.raises(ValueError, match="NaN"):
        gabor_fit(np.full((1, 6, 6), np.nan))


def test_analytic_jacobian_matches_finite_differences():
    """Catches a sign or factor slip in the derivatives that would stall the fit."""
    params = np.array(PARAMS)
    _, jacobian = _gabor_and_jacobian(params, (10, 10))
    step = 1e-6
    numeric = np.stack([(gabor(params + e, (10, 10)) - gabor(params - e, (10, 10))).ravel()
                        / (2 * step) for e in np.eye(len(params)) * step], axis=1)
    np.testing.assert_allclose(jacobian, numeric, atol=1e-6)
