"""Global contrast normalisation and per-class min-max scaling (Ruff et al. 2018's one-class
preprocessing): known values, invariances, the fitted range and its inverse, and the errors."""

import numpy as np
import pytest

from kerasae.data import ContrastMinMax, global_contrast_normalize


def test_l1_known_values():
    # mean 3, deviations -3 -1 1 3, mean absolute deviation 2
    z = global_contrast_normalize(np.array([[0.0, 2.0, 4.0, 6.0]]))
    np.testing.assert_allclose(z, [[-1.5, -0.5, 0.5, 1.5]], rtol=1e-6)
    assert z.dtype == np.float32


def test_l2_known_values():
    # deviations -3 -1 1 3, root mean square sqrt(5)
    z = global_contrast_normalize(np.array([[0.0, 2.0, 4.0, 6.0]]), scale="l2")
    np.testing.assert_allclose(z, np.array([[-3.0, -1.0, 1.0, 3.0]]) / np.sqrt(5.0), rtol=1e-6)


def test_each_image_centred_and_unit_contrast_and_shape_kept():
    x = np.random.default_rng(0).uniform(0, 1, (5, 6, 6, 1))
    z = global_contrast_normalize(x)
    assert z.shape == x.shape
    flat = z.reshape(5, -1)
    np.testing.assert_allclose(flat.mean(axis=1), 0.0, atol=1e-6)
    np.testing.assert_allclose(np.abs(flat).mean(axis=1), 1.0, rtol=1e-5)


def test_invariant_to_per_image_brightness_and_contrast():
    x = np.random.default_rng(1).uniform(0, 1, (3, 16))
    gain = np.array([[0.5], [2.0], [7.0]])
    offset = np.array([[0.1], [-3.0], [40.0]])
    for scale in ("l1", "l2"):
        np.testing.assert_allclose(global_contrast_normalize(gain * x + offset, scale),
                                   global_contrast_normalize(x, scale), atol=1e-5)


def test_integer_pixels_accepted():
    x = np.array([[0, 255, 0, 255]], dtype=np.uint8)
    np.testing.assert_allclose(global_contrast_normalize(x), [[-1, 1, -1, 1]])


def test_min_max_fitted_range_is_unit_interval():
    x = np.random.default_rng(2).uniform(0, 1, (20, 8, 8, 1))
    prep = ContrastMinMax.fit(x)
    y = prep(x)
    assert y.shape == x.shape and y.dtype == np.float32
    assert y.min() == pytest.approx(0.0, abs=1e-6)
    assert y.max() == pytest.approx(1.0, abs=1e-6)
    z = global_contrast_normalize(x)
    assert (prep.low, prep.high) == pytest.approx((z.min(), z.max()))


def test_min_max_known_values_and_inverse():
    prep = ContrastMinMax.fit(np.array([[0.0, 2.0, 4.0, 6.0], [1.0, 1.0, 1.0, 5.0]]))
    # GCN: [-1.5 -0.5 0.5 1.5] and [-1 -1 -1 3] / 1.5 -> low -1.5, high 2
    assert (prep.low, prep.high) == pytest.approx((-1.5, 2.0))
    np.testing.assert_allclose(prep(np.array([[0.0, 2.0, 4.0, 6.0]])),
                               [[0.0, 1 / 3.5, 2 / 3.5, 3 / 3.5]], rtol=1e-6)
    new = np.random.default_rng(3).uniform(0, 1, (4, 4))
    np.testing.assert_allclose(prep.inverse(prep(new)), global_contrast_normalize(new),
                               atol=1e-5)


def test_other_class_may_leave_the_unit_interval():
    rng = np.random.default_rng(4)
    normal = rng.uniform(0.4, 0.6, (50, 16))
    odd = np.zeros((1, 16))
    odd[0, 0] = 1.0  # one bright pixel: far beyond the normal class's contrast-normalised max
    prep = ContrastMinMax.fit(normal)
    assert prep(odd).max() > 1.0


@pytest.mark.parametrize("bad, match", [
    (np.array([1.0, 2.0, 3.0]), "at least 2 axes"),
    (np.zeros((0, 4)), "at least 1 row"),
    (np.array([[0.0, np.nan, 1.0]]), "NaN or infinite"),
    (np.array([[0.0, np.inf, 1.0]]), "NaN or infinite"),
    (np.array([["a", "b"]]), "must hold numbers"),
    (np.array([[0.0, 1.0], [2.0, 2.0]]), "constant image.*index 1"),
])
def test_bad_input_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        global_contrast_normalize(bad)
    with pytest.raises(ValueError, match=match):
        ContrastMinMax.fit(bad)


def test_bad_scale_and_range_errors():
    with pytest.raises(ValueError, match="scale must be one of"):
        global_contrast_normalize(np.array([[0.0, 1.0]]), scale="l3")
    with pytest.raises(ValueError, match="scale must be one of"):
        ContrastMinMax(0.0, 1.0, scale="max")
    for low, high in ((1.0, 1.0), (2.0, 1.0), (0.0, float("nan")), ("0", 1.0)):
        with pytest.raises(ValueError, match="low < high"):
            ContrastMinMax(low, high)
    prep = ContrastMinMax(0.0, 1.0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        prep.inverse(np.array([[np.nan, 0.0]]))
