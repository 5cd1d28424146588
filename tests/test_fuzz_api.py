"""Property: any numpy input gives a clear ValueError or a correct result (finite, right shape).

Random shapes, dtypes (int, float16/32/64, bool, complex, object) and values (NaN, inf, values
beyond float32, negative, above 1 for cross-entropy models) go into the numpy API of a few
tiny models built once. An oracle says which inputs are valid, so the test also fails when a
valid input is refused or an invalid one slips through.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import kerasae

# Keras' own notes on streams (no shuffling of a stream, a generator used up) are not at issue.
pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed:UserWarning",
                                        "ignore:Your input ran out of data:UserWarning")


CLASSES = 3
SPECS = {
    "ae": dict(input_shape=(6,), latent_dim=2, hidden_units=(4,)),
    "vae": dict(input_shape=(6,), latent_dim=2, hidden_units=(4,)),  # Bernoulli: [0, 1]
    "cvae": dict(input_shape=(6,), latent_dim=2, hidden_units=(4,), num_classes=CLASSES),
    "conv_ae": dict(input_shape=(4, 4, 1), latent_dim=2, filters=(2,)),
}
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture(scope="module")
def models():
    # module-scoped fixtures are made before the autouse seed: without this, the weights (and
    # which drawn example overflows them) would depend on the test modules run before
    keras.utils.set_random_seed(0)
    built = {}
    for name, spec in SPECS.items():
        built[name] = kerasae.build(name, **spec)
        built[name].compile(optimizer=keras.optimizers.Adam(1e-3))
    return built


DTYPES = ["int8", "uint8", "int64", "float16", "float32", "float64", "bool", "complex64",
          "object"]
SPECIAL = [np.nan, np.inf, -np.inf, 1e39, -1e39, 6e4, -3.0, 0.5, 1.0, 2.0, 255.0, 0.0]


@st.composite
def arrays(draw, example_shape: tuple[int, ...]):
    """An array whose shape is right (most often), empty, missing the batch axis or off in
    some axis, of any of DTYPES, with values in [0, 1] and up to two SPECIAL ones. Two
    examples when the shape is right: one batch shape keeps JAX from compiling again."""
    n = 2
    right = (n, *example_shape)
    shape = draw(st.sampled_from([
        right, right, right, right, right, (0, *example_shape), example_shape,
        (n, *example_shape[:-1], example_shape[-1] + 1), (n, 1, *example_shape),
    ]))
    size = int(np.prod(shape))
    values = np.array(draw(st.lists(st.floats(0, 1), min_size=size, max_size=size)), "float64")
    for _ in range(draw(st.integers(0, 2)) if size else 0):
        values[draw(st.integers(0, size - 1))] = draw(st.sampled_from(SPECIAL))
    values = values.reshape(shape)
    dtype = draw(st.sampled_from(DTYPES))
    if dtype == "object":
        return values.astype(object)
    if dtype == "bool":
        return values > 0.5
    with np.errstate(all="ignore"):
        if dtype == "complex64":
            return (values + 1j).astype("complex64")
        if np.dtype(dtype).kind in "iu":
            info = np.iinfo(dtype)
            return np.nan_to_num(values).clip(info.min, info.max).astype(dtype)
        return values.astype(dtype)


def is_valid(array: np.ndarray, example_shape, unit_range: bool) -> bool:
    """The oracle: what the API must accept."""
    if array.dtype == object or array.dtype.kind not in "biuf":
        return False
    if array.shape[1:] != tuple(example_shape) or array.shape[0] == 0:
        return False
    values = array.astype("float64")
    if not np.isfinite(values).all() or np.abs(values).max() > np.finfo("float32").max:
        return False
    return not unit_range or bool(values.min() >= 0 and values.max() <= 1)


def check_result(result, n: int, shape: tuple[int, ...]) -> None:
    assert result.shape == (n, *shape)
    assert np.isfinite(result).all()


def call(model, name: str, method: str, x):
    kwargs = {"condition": np.arange(len(x)) % CLASSES} if name == "cvae" and len(x) else {}
    if method == "fit":
        fit_x = [x, kwargs["condition"]] if kwargs else x
        return model.fit(fit_x, epochs=1, batch_size=4, verbose=0).history["loss"][0]
    return getattr(model, method)(x, **kwargs)


@SETTINGS
@given(name=st.sampled_from(list(SPECS)), data=st.data(),
       method=st.sampled_from(["encode", "reconstruct", "reconstruction_error"]))
def test_numpy_methods_refuse_clearly_or_answer_correctly(models, name, method, data):
    model = models[name]
    x = data.draw(arrays(model.data_shape))
    valid = is_valid(x, model.data_shape, name in ("vae", "cvae"))
    event(f"valid: {valid}")
    try:
        result = call(model, name, method, x)
    except ValueError as error:
        # Valid data may still overflow float32 inside the network: that is said, not returned.
        assert not valid or "overflow float32 inside the network" in str(error), str(error)
        assert str(error).startswith(("x ", method)), str(error)
        return
    assert valid, f"{x.dtype} {x.shape} was accepted"
    shape = {"encode": (model.latent_dim,), "reconstruct": model.data_shape,
             "reconstruction_error": ()}[method]
    check_result(result, len(x), shape)


@SETTINGS
@given(name=st.sampled_from(["ae", "vae", "cvae"]), data=st.data())
def test_decode_refuses_clearly_or_answers_correctly(models, name, data):
    model = models[name]
    z = data.draw(arrays((model.latent_dim,)))
    valid = is_valid(z, (model.latent_dim,), False)
    event(f"valid: {valid}")
    try:
        result = call(model, name, "decode", z)
    except ValueError as error:
        assert not valid or "overflow float32 inside the network" in str(error), str(error)
        return
    assert valid, f"{z.dtype} {z.shape} was accepted"
    check_result(result, len(z), model.data_shape)


@settings(SETTINGS, max_examples=12)
@given(name=st.sampled_from(["ae", "cvae"]), data=st.data())  # mse; cross-entropy and labels
def test_fit_refuses_clearly_or_trains_to_a_finite_loss(models, name, data):
    model = models[name]
    x = data.draw(arrays(model.data_shape))
    valid = is_valid(x, model.data_shape, name in ("vae", "cvae"))
    event(f"valid: {valid}")
    try:
        loss = call(model, name, "fit", x)
    except ValueError as error:
        assert not valid or "training stopped" in str(error), str(error)
    else:
        assert valid and np.isfinite(loss), f"{x.dtype} {x.shape} was accepted"
    assert all(np.isfinite(w).all() for w in model.get_weights())


@settings(SETTINGS, max_examples=30)
@given(n=st.one_of(st.integers(-2, 2), st.floats(-2, 4), st.booleans(), st.none(),
                   st.text(max_size=2), st.just(np.int64(2))))
def test_sample_takes_a_positive_integer_only(models, n):
    model = models["vae"]
    valid = isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0
    if not valid:
        with pytest.raises(ValueError, match=r"n \(the number of samples\) must be a positive "
                                             r"integer; got "):
            model.sample(n, seed=0)
        return
    check_result(model.sample(n, seed=0), int(n), model.data_shape)
