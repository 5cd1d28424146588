"""apps.generation: prior samples, interpolation and traversal through public methods only.

The code-space helpers are checked against closed forms; the model-level functions against
the model's own encode/decode, on tiny untrained models (the maths does not need training) and
on a plain numpy "user model" that is no Keras model at all.
"""

from __future__ import annotations

import numpy as np
import pytest
from variant_specs import SPECS, images, vectors

import kerasae
from kerasae.apps.generation import (
    informative_dims,
    interpolate,
    interpolate_codes,
    sample,
    traverse,
    traverse_codes,
)

TOL = {"rtol": 1e-5, "atol": 1e-5}


def build(name: str, **options):
    return kerasae.build(name, **{**SPECS[name]["kwargs"], **options})


@pytest.fixture(scope="module")
def vae():
    return build("vae")


@pytest.fixture(scope="module")
def cvae():
    return build("cvae")


@pytest.fixture(scope="module")
def ae():
    return build("ae")


@pytest.fixture(scope="module")
def masked():
    return build("masked_ae")


class LinearModel:
    """A user model that is not a Keras model: code = W x, decode = W^T z (numpy only)."""

    def __init__(self, data_dim: int = 4, latent_dim: int = 4):
        self.data_shape = (data_dim,)
        self.latent_dim = latent_dim
        self.weights = np.random.default_rng(3).normal(size=(latent_dim, data_dim))

    def encode(self, x, batch_size=256, condition=None):
        return np.asarray(x) @ self.weights.T

    def decode(self, z, batch_size=256, condition=None):
        return np.asarray(z) @ self.weights


# ----- interpolate_codes ------------------------------------------------------------------


@pytest.mark.parametrize("method", ["linear", "slerp"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_interpolated_codes_start_and_end_exactly_at_the_endpoints(method, dtype):
    rng = np.random.default_rng(0)
    z_a, z_b = rng.normal(size=(2, 6)).astype(dtype)
    path = interpolate_codes(z_a, z_b, steps=9, method=method)
    assert path.shape == (9, 6) and path.dtype == dtype
    np.testing.assert_array_equal(path[0], z_a)
    np.testing.assert_array_equal(path[-1], z_b)


def test_linear_codes_are_evenly_spaced_on_the_segment():
    z_a, z_b = np.array([0.0, 2.0]), np.array([4.0, -2.0])
    path = interpolate_codes(z_a, z_b, steps=5)
    np.testing.assert_allclose(path, [[0, 2], [1, 1], [2, 0], [3, -1], [4, -2]], atol=1e-6)


def test_slerp_keeps_the_norm_of_equal_norm_codes_and_moves_at_constant_angle():
    rng = np.random.default_rng(1)
    z_a, z_b = rng.normal(size=(2, 8))
    z_b *= np.linalg.norm(z_a) / np.linalg.norm(z_b)
    path = interpolate_codes(z_a, z_b, steps=11, method="slerp")
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(z_a), rtol=1e-6)
    unit = path / np.linalg.norm(path, axis=1, keepdims=True)
    angles = np.arccos(np.clip(np.sum(unit[1:] * unit[:-1], axis=1), -1, 1))
    np.testing.assert_allclose(angles, angles[0], rtol=1e-4)
    linear = interpolate_codes(z_a, z_b, steps=11)
    assert np.linalg.norm(linear[5]) < np.linalg.norm(path[5])  # the chord cuts inside


def test_slerp_midpoint_of_orthogonal_unit_codes():
    path = interpolate_codes([1.0, 0.0], [0.0, 1.0], steps=3, method="slerp")
    np.testing.assert_allclose(path[1], [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-6)


@pytest.mark.parametrize("z_b", [[2.0, 4.0, 6.0], [-1.0, -2.0, -3.0], [1.0, 2.0, 3.0 + 1e-13],
                                 [0.0, 0.0, 0.0]])
def test_slerp_falls_back_to_linear_for_parallel_or_zero_codes(z_b):
    z_a = np.array([1.0, 2.0, 3.0])
    slerp = interpolate_codes(z_a, z_b, steps=6, method="slerp")
    assert np.all(np.isfinite(slerp))
    np.testing.assert_allclose(slerp, interpolate_codes(z_a, z_b, steps=6), atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "cubic"}, "method must be one of"),
        ({"method": "slerpp"}, "Did you mean 'slerp'"),
        ({"steps": 1}, "steps must be an integer >= 2"),
        ({"steps": 2.5}, "steps must be an integer >= 2"),
        ({"z_b": np.zeros(3)}, "same shape"),
        ({"z_a": np.zeros((1, 4))}, "z_a must be a 1-D array"),
        ({"z_a": [np.nan, 0, 0, 0]}, "NaN"),
    ],
)
def test_interpolate_codes_rejects_bad_arguments(kwargs, message):
    args = {"z_a": np.zeros(4), "z_b": np.ones(4), **kwargs}
    with pytest.raises(ValueError, match=message):
        interpolate_codes(**args)


# ----- interpolate on models --------------------------------------------------------------


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_interpolation_decodes_the_code_path_from_a_to_b(vae, method):
    x = vectors(2, seed=4)
    out = interpolate(vae, x[0], x[1:2], steps=6, method=method)  # with and without batch axis
    assert out.shape == (6, *vae.data_shape)
    np.testing.assert_allclose(out[[0, -1]], vae.decode(vae.encode(x)), **TOL)
    np.testing.assert_allclose(out[[0, -1]], vae.reconstruct(x), **TOL)
    path = interpolate_codes(*vae.encode(x), steps=6, method=method)
    np.testing.assert_allclose(out, vae.decode(path), **TOL)


def test_interpolation_of_a_deterministic_and_a_user_model(ae):
    x = vectors(2, seed=5)
    out = interpolate(ae, x[0], x[1], steps=4)
    np.testing.assert_allclose(out[[0, -1]], ae.reconstruct(x), **TOL)
    user = LinearModel()
    a, b = np.eye(4)[:2]
    np.testing.assert_allclose(interpolate(user, a, b, steps=3)[1],
                               user.decode(user.encode((a + b)[None] / 2))[0], atol=1e-6)


def test_conditional_interpolation_keeps_one_label(cvae):
    x = vectors(2, seed=6)
    out = interpolate(cvae, x[0], x[1], steps=5, condition=2)
    labels = np.full(2, 2)
    np.testing.assert_allclose(out[[0, -1]], cvae.reconstruct(x, condition=labels), **TOL)
    with pytest.raises(ValueError, match="one class label for the whole path"):
        interpolate(cvae, x[0], x[1], condition=[0, 1])
    with pytest.raises(ValueError, match="needs condition=labels"):
        interpolate(cvae, x[0], x[1])


def test_interpolate_rejects_a_batch_and_models_without_a_decoder(vae, masked):
    x = vectors(3)
    with pytest.raises(ValueError, match=r"a must be one example of shape \(16,\)"):
        interpolate(vae, x, x[0])
    pictures = images(2)
    with pytest.raises(ValueError, match="no decoder from codes"):
        interpolate(masked, pictures[0], pictures[1])


# ----- traversal --------------------------------------------------------------------------


def test_traverse_codes_changes_only_the_chosen_dimension():
    z = np.array([0.5, -1.0, 2.0, 0.0], dtype="float32")
    values = np.linspace(-3, 3, 7)
    codes = traverse_codes(z, dims=[2, 0], values=values)
    assert codes.shape == (2, 7, 4) and codes.dtype == np.float32
    for row, dim in enumerate([2, 0]):
        np.testing.assert_allclose(codes[row, :, dim], values)
        others = np.delete(codes[row], dim, axis=1)
        np.testing.assert_array_equal(others, np.broadcast_to(np.delete(z, dim), others.shape))


@pytest.mark.parametrize(("dims", "message"), [([4], r"dims must lie in \[0, 4\)"),
                                               ([-1], "must lie in"), ([], "non-empty"),
                                               ([0.5], "integer")])
def test_traverse_codes_rejects_bad_dims(dims, message):
    with pytest.raises(ValueError, match=message):
        traverse_codes(np.zeros(4), dims=dims, values=[0.0])


def test_traversal_decodes_the_swept_codes(vae):
    x = vectors(1, seed=7)
    values = np.array([-2.0, 0.0, 2.0])
    out = traverse(vae, x[0], dims=[3, 1], values=values)
    assert out.shape == (2, 3, *vae.data_shape)
    codes = traverse_codes(vae.encode(x)[0], [3, 1], values)
    np.testing.assert_allclose(out.reshape(6, -1), vae.decode(codes.reshape(6, -1)), **TOL)


def test_default_traversal_of_a_vae_puts_the_most_informative_dims_first(vae):
    x = vectors(1, seed=8)
    order = informative_dims(vae, x)
    assert sorted(order.tolist()) == list(range(vae.latent_dim))
    mean, log_var = vae.encode_distribution(x)
    kl = 0.5 * (np.exp(log_var) + mean**2 - 1 - log_var)[0]
    assert np.all(np.diff(kl[order]) <= 1e-7)
    out = traverse(vae, x[0], values=1.5)  # a span: 7 values in [-1.5, 1.5]
    assert out.shape == (vae.latent_dim, 7, *vae.data_shape)
    np.testing.assert_allclose(out, traverse(vae, x[0], dims=order, values=np.linspace(-1.5,
                                                                                        1.5, 7)),
                               **TOL)


def test_traversal_from_a_code_and_of_models_without_a_posterior(ae, cvae):
    z = np.array([0.1, 0.2, 0.3, 0.4], dtype="float32")
    out = traverse(ae, z, values=[0.0, 1.0])
    assert out.shape == (ae.latent_dim, 2, *ae.data_shape)  # all dims, in order
    np.testing.assert_allclose(out[2, 1], ae.decode(np.array([[0.1, 0.2, 1.0, 0.4]]))[0], **TOL)
    conditional = traverse(cvae, z[None], dims=[0], values=[0.0], condition=1)
    np.testing.assert_allclose(conditional[0],
                               cvae.decode(np.array([[0.0, 0.2, 0.3, 0.4]]), condition=[1]),
                               **TOL)
    with pytest.raises(ValueError, match="no posterior distribution"):
        informative_dims(ae, vectors(2))


def test_traverse_needs_is_code_when_example_and_code_shapes_coincide():
    user = LinearModel(data_dim=4, latent_dim=4)
    x = np.array([1.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="pass is_code=True or is_code=False"):
        traverse(user, x, values=[0.0])
    as_code = traverse(user, x, dims=[1], values=[5.0], is_code=True)
    np.testing.assert_allclose(as_code[0, 0], user.decode([[1.0, 5.0, 0.0, 0.0]])[0])
    as_example = traverse(user, x, dims=[1], values=[5.0], is_code=False)
    expected = user.encode(x[None])[0]
    expected[1] = 5.0
    np.testing.assert_allclose(as_example[0, 0], user.decode(expected[None])[0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x_or_z": np.zeros(5)}, r"one example of shape \(16,\) or a code of shape \(4,\)"),
        ({"x_or_z": np.zeros(16), "is_code": True}, r"a code of shape \(4,\)"),
        ({"values": 0.0}, "positive number"),
        ({"values": np.zeros((2, 2))}, "values must be a 1-D array"),
    ],
)
def test_traverse_rejects_bad_arguments(vae, kwargs, message):
    args = {"x_or_z": vectors(1)[0], **kwargs}
    with pytest.raises(ValueError, match=message):
        traverse(vae, **args)


def test_traverse_refuses_a_model_without_a_decoder(masked):
    with pytest.raises(ValueError, match="masked_ae.*no decoder from codes"):
        traverse(masked, images(1)[0])


# ----- prior samples ----------------------------------------------------------------------


def test_samples_are_reproducible_with_a_seed(vae):
    first, again, other = (sample(vae, 5, seed=s) for s in (3, 3, 4))
    assert first.shape == (5, *vae.data_shape)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    assert np.all((first >= 0) & (first <= 1))  # Bernoulli means


def test_conditional_samples(cvae):
    per_example = sample(cvae, 6, seed=0, condition=np.array([0, 1, 2, 0, 1, 2]))
    one_class = sample(cvae, 6, seed=0, condition=2)
    assert per_example.shape == one_class.shape == (6, *cvae.data_shape)
    np.testing.assert_allclose(per_example[[2, 5]], one_class[[2, 5]], **TOL)
    with pytest.raises(ValueError, match="needs condition=labels"):
        sample(cvae, 2)


@pytest.mark.parametrize("name", ["ae", "masked"])
def test_models_without_a_prior_cannot_sample(name, ae, masked):
    model = {"ae": ae, "masked": masked}[name]
    with pytest.raises(ValueError, match=f"{model.variant}.*no prior to sample from"):
        sample(model, 3)


def test_sample_count_must_be_positive(vae):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        sample(vae, 0)
