"""Bad input fails early with a ValueError that says what was expected and what came.

Each case would catch a check that is missing (Keras then fails deep inside a traced function,
or not at all) or a message that does not name the user's own argument and value.
"""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest

import kerasae

VEC = {"input_shape": (16,), "latent_dim": 4}


def esc(text: str) -> str:
    return re.escape(text)


# ----- build ----------------------------------------------------------------------------------

BUILD_ERRORS = {
    "unknown variant, near miss": (
        dict(name="conv_aee", input_shape=(8, 8, 1), latent_dim=4),
        r"unknown variant 'conv_aee'; expected one of \[.*'conv_ae'.*\]\. "
        r"Did you mean 'conv_ae'",
    ),
    "unknown variant, far off": (
        dict(name="zzz", **VEC),
        r"unknown variant 'zzz'; expected one of \['ae', .*'sparse_ae'.*\]\.$",
    ),
    "unknown option": (
        dict(name="ae", **VEC, hidden_unit=(8,)),
        r"unknown option\(s\) \['hidden_unit'\] for variant 'ae'; it accepts \[.*'hidden_units'"
        r".*\]\. Did you mean 'hidden_units'",
    ),
    "missing input_shape": (
        dict(name="ae", latent_dim=4), esc("build('ae') needs input_shape, e.g. input_shape=("),
    ),
    "missing latent_dim": (
        dict(name="ae", input_shape=(16,)), esc("build('ae') needs latent_dim, a positive integer"),
    ),
    "zero in input_shape": (
        dict(name="ae", input_shape=(0, 3), latent_dim=4),
        esc("input_shape must be a tuple of positive integers") + ".*" + esc("got (0, 3)."),
    ),
    "string input_shape": (
        dict(name="ae", input_shape="abc", latent_dim=4),
        esc("input_shape must be a tuple of positive integers") + ".*" + esc("got 'abc'."),
    ),
    "empty input_shape": (
        dict(name="ae", input_shape=(), latent_dim=4),
        esc("input_shape must be a tuple of positive integers") + ".*" + esc("got ()."),
    ),
    "fractional input_shape": (
        dict(name="ae", input_shape=(2.5, 3), latent_dim=1),
        esc("input_shape must be a tuple of positive integers") + ".*" + esc("got (2.5, 3)."),
    ),
    "zero latent_dim": (
        dict(name="ae", input_shape=(16,), latent_dim=0),
        esc("latent_dim must be a positive integer; got 0."),
    ),
    "fractional latent_dim": (
        dict(name="ae", input_shape=(16,), latent_dim=2.5),
        esc("latent_dim must be a positive integer; got 2.5."),
    ),
    "bad noise kind": (
        dict(name="denoising_ae", **VEC, noise="gausian"),
        esc("noise must be one of ['gaussian', 'masking', 'salt_and_pepper']; got 'gausian'.")
        + " Did you mean 'gaussian'",
    ),
    "masking level above 1": (
        dict(name="denoising_ae", **VEC, noise="masking", noise_level=1.5),
        r"noise_level \(the fraction of corrupted elements for 'masking'\) must be a number in "
        r"\[0\.0, 1\.0\]; got 1\.5\.",
    ),
    "salt_and_pepper level below 0": (
        dict(name="denoising_ae", **VEC, noise="salt_and_pepper", noise_level=-0.1),
        r"noise_level .*'salt_and_pepper'.* must be a number in \[0\.0, 1\.0\]; got -0\.1\.",
    ),
    "negative gaussian std": (
        dict(name="denoising_ae", **VEC, noise="gaussian", noise_level=-0.1),
        r"noise_level \(the standard deviation for 'gaussian'\) must be a number in "
        r"\[0\.0, inf\]; got -0\.1\.",
    ),
    "string gaussian std": (
        dict(name="denoising_ae", **VEC, noise_level="0.2"),
        r"noise_level .*standard deviation.* must be a number .*; got '0\.2'\.",
    ),
    "bad reconstruction_loss": (
        dict(name="ae", **VEC, reconstruction_loss="l2"),
        esc("reconstruction_loss must be one of ['mse', 'bce']; got 'l2'."),
    ),
    "bad reconstruction_loss, deep_ae": (
        dict(name="deep_ae", **VEC, reconstruction_loss="mae"),
        esc("reconstruction_loss must be one of ['mse', 'bce']; got 'mae'."),
    ),
    "conv architecture on vectors": (
        dict(name="ae", **VEC, architecture="conv"),
        esc("architecture='conv' needs image input_shape (height, width, channels); got (16,)."),
    ),
    "conv_ae on vectors": (
        dict(name="conv_ae", **VEC),
        esc("architecture='conv' needs image input_shape (height, width, channels); got (16,)."),
    ),
    "lstm_ae on vectors": (
        dict(name="lstm_ae", **VEC),
        esc("architecture='lstm' needs sequence input_shape (timesteps, features); got (16,)."),
    ),
    "unknown architecture": (
        dict(name="ae", **VEC, architecture="gru"),
        esc("architecture must be one of ['dense', 'conv', 'lstm']; got 'gru'."),
    ),
    "bad hidden_units": (
        dict(name="ae", **VEC, hidden_units=(0,)),
        esc("hidden_units must be a sequence of positive integers such as (256, 128); got (0,)."),
    ),
    "rho with l1 sparsity": (
        dict(name="sparse_ae", **VEC, sparsity="l1", rho=0.1),
        esc("option(s) ['rho'] do not apply to sparsity='l1'; it takes ['lam']."),
    ),
    "lam with kl sparsity": (
        dict(name="sparse_ae", **VEC, lam=0.1),
        esc("option(s) ['lam'] do not apply to sparsity='kl'; it takes ['rho', 'beta']."),
    ),
    "unknown sparsity": (
        dict(name="sparse_ae", **VEC, sparsity="l2"),
        esc("sparsity must be one of ['kl', 'l1']; got 'l2'."),
    ),
    "rho out of (0, 1)": (
        dict(name="sparse_ae", **VEC, rho=1.0),
        esc("rho (target mean activation) must be a number in (0.0, 1.0); got 1.0."),
    ),
    "rho as a string": (
        dict(name="sparse_ae", **VEC, rho="0.1"),
        esc("rho (target mean activation) must be a number in (0.0, 1.0); got '0.1'."),
    ),
    "negative contractive_weight": (
        dict(name="contractive_ae", **VEC, contractive_weight=-1.0),
        esc("contractive_weight must be a number in [0.0, inf]; got -1.0."),
    ),
    "infinite contractive_weight": (
        dict(name="contractive_ae", **VEC, contractive_weight=float("inf")),
        esc("contractive_weight must be a finite number in [0.0, inf]; got inf."),
    ),
    "float input_shape": (
        dict(name="ae", input_shape=(16.0,), latent_dim=2),
        esc("input_shape must be a tuple of positive integers without the batch axis, "
            "e.g. (784,) or (28, 28, 1); got (16.0,)."),
    ),
}


@pytest.mark.parametrize("kwargs, pattern", BUILD_ERRORS.values(), ids=BUILD_ERRORS.keys())
def test_build_rejects_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        kerasae.build(**kwargs)


SPEC_ERRORS = {
    "vae beta": ("VariationalObjective", {"beta": -1.0}, r"beta must be a number in \[0\.0, inf"),
    "vae warm-up": ("VariationalObjective", {"kl_warmup_steps": 1.5}, "kl_warmup_steps must be"),
    "cvae classes": ("VariationalObjective", {"num_classes": 0}, "num_classes must be a positive"),
    "tcvae gamma": ("TotalCorrelationObjective", {"gamma": -1.0}, r"gamma \(dimension-wise"),
    "vit heads": ("VitNetwork", {"num_heads": 3}, "embed_dim=64 must be divisible by num_heads"),
    "mae ratio": ("MaskedObjective", {"mask_ratio": 1.0}, "mask_ratio must be"),
}


@pytest.mark.parametrize("spec, fields, pattern", SPEC_ERRORS.values(), ids=SPEC_ERRORS.keys())
def test_typed_specs_refuse_a_bad_value_where_they_are_made(spec, fields, pattern):
    """Each family's network and objective check themselves on construction, with the message
    the model gives, not only once a model is built from them."""
    from kerasae.builders import masked, probabilistic, tcvae

    cls = next(getattr(m, spec) for m in (probabilistic, tcvae, masked) if hasattr(m, spec))
    cls()  # the defaults are valid
    with pytest.raises(ValueError, match=pattern):
        cls(**fields)


@pytest.mark.parametrize(
    "name, input_shape, size",
    [("ae", (16,), 16), ("linear_ae", (16,), 16), ("deep_ae", (4, 4), 16),
     ("conv_ae", (4, 4, 1), 16), ("lstm_ae", (8, 2), 16)],
)
@pytest.mark.parametrize("latent_dim", [16, 17])
def test_undercomplete_variants_reject_latent_dim_not_below_input_size(
    name, input_shape, size, latent_dim
):
    """The message names the variant, the input size and the latent_dim that came."""
    pattern = (
        rf"{name} is undercomplete: latent_dim must be smaller than the input size {size} "
        rf"\(input_shape={re.escape(str(input_shape))}\); got latent_dim={latent_dim}\."
    )
    with pytest.raises(ValueError, match=pattern):
        kerasae.build(name, input_shape=input_shape, latent_dim=latent_dim)


def test_overcomplete_variants_accept_large_latent_dim():
    """sparse_ae and contractive_ae may be overcomplete: the undercomplete check must not fire
    for them (the control for the test above)."""
    for name in ("sparse_ae", "contractive_ae", "denoising_ae"):
        model = kerasae.build(name, input_shape=(16,), latent_dim=32)
        assert model.latent_dim == 32


# ----- data given to a built model -----------------------------------------------------------


@pytest.fixture(scope="module")
def image_model():
    """An (28, 28, 1) mse model, compiled; building it is cheap and nothing here trains."""
    model = kerasae.build("ae", input_shape=(28, 28, 1), latent_dim=4, filters=(2,))
    model.compile(optimizer=keras.optimizers.Adam())
    return model


@pytest.fixture(scope="module")
def bce_model():
    model = kerasae.build("ae", input_shape=(16,), latent_dim=4, hidden_units=(8,),
                          reconstruction_loss="bce")
    model.compile(optimizer=keras.optimizers.Adam())
    return model


def _call(model, method: str, x):
    if method == "fit":
        return model.fit(x, epochs=1, verbose=0)
    if method == "evaluate":
        return model.evaluate(x, verbose=0)
    return getattr(model, method)(x)


METHODS = ["fit", "evaluate", "encode", "reconstruct", "reconstruction_error"]
WRONG_SHAPE = esc("x must have shape (N, 28, 28, 1); got (5, 784).")


@pytest.mark.parametrize("method", METHODS)
def test_flat_images_are_rejected_with_both_shapes(image_model, method):
    with pytest.raises(ValueError, match=WRONG_SHAPE):
        _call(image_model, method, np.zeros((5, 784), "float32"))


@pytest.mark.parametrize("method", METHODS)
def test_single_example_without_batch_axis_gets_a_hint(image_model, method):
    pattern = esc("x must have shape (N, 28, 28, 1); got (28, 28, 1).") + ".*add a batch axis"
    with pytest.raises(ValueError, match=pattern):
        _call(image_model, method, np.zeros((28, 28, 1), "float32"))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_data_is_rejected(image_model, method, bad):
    x = np.zeros((5, 28, 28, 1), "float32")
    x[1, 3, 4, 0] = bad
    x[2, 0, 0, 0] = bad
    with pytest.raises(ValueError, match=esc("x contains 2 NaN or infinite values; expected")):
        _call(image_model, method, x)


@pytest.mark.parametrize("method", METHODS)
def test_empty_data_is_rejected(image_model, method):
    with pytest.raises(ValueError, match=esc("x has no examples; expected shape (N, 28, 28, 1)")):
        _call(image_model, method, np.zeros((0, 28, 28, 1), "float32"))


def test_non_numeric_data_is_rejected(image_model):
    with pytest.raises(ValueError, match="x must hold numbers; got an array of dtype <U"):
        image_model.encode(np.full((2, 28, 28, 1), "a"))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("low, high", [(0.0, 255.0), (-0.5, 0.5)])
def test_bce_model_rejects_data_outside_unit_interval(bce_model, method, low, high):
    x = np.full((4, 16), 0.5, "float32")
    x[0, 0], x[1, 1] = low, high
    pattern = (
        esc("x must lie in [0.0, 1.0] for this model's cross-entropy reconstruction loss; ")
        + esc(f"got values in [{low:g}, {high:g}].") + ".*x / 255"
    )
    with pytest.raises(ValueError, match=pattern):
        _call(bce_model, method, x)


def test_mse_model_accepts_data_outside_unit_interval(image_model):
    """The control: the [0, 1] check is for cross-entropy models only."""
    x = np.full((2, 28, 28, 1), 255.0, "float32")
    assert image_model.reconstruct(x).shape == x.shape


def test_decode_rejects_codes_of_wrong_size(image_model):
    with pytest.raises(ValueError, match=esc("z must have shape (N, 4); got (3, 5).")):
        image_model.decode(np.zeros((3, 5), "float32"))


def test_condition_is_rejected_by_unconditional_model(image_model):
    with pytest.raises(ValueError, match=r"Autoencoder \(ae\) is not conditional; got a condition"):
        image_model.encode(np.zeros((3, 28, 28, 1), "float32"), condition=np.zeros(3))


def test_unknown_endpoint_is_rejected(image_model):
    pattern = esc("endpoint must be one of ['encode', 'decode', 'reconstruct', ")
    with pytest.raises(ValueError, match=pattern + ".*got 'encoder'. Did you mean 'encode'"):
        image_model.endpoint("encoder")


# ----- the Keras entry points and sample -------------------------------------------------------


@pytest.fixture(scope="module")
def vector_model():
    model = kerasae.build("ae", **VEC, hidden_units=(8,))
    model.compile(optimizer=keras.optimizers.Adam())
    return model


def test_complex_data_is_refused_not_truncated(vector_model):
    x = np.zeros((3, 16), "complex64") + 1j
    for method in ("fit", "encode"):
        with pytest.raises(ValueError, match=esc("x must hold real numbers; got an array of "
                                                 "dtype complex64.") + ".*np.abs"):
            _call(vector_model, method, x)


def test_values_beyond_float32_are_called_so(vector_model):
    """1e39 is finite in float64; the message used to call it 'NaN or infinite'."""
    x = np.zeros((3, 16))
    x[0, :2] = 1e39
    pattern = esc("x contains 2 values beyond float32's range (|value| > 3.403e+38, largest "
                  "1e+39); the models compute in float32.")
    for method in ("fit", "reconstruct"):
        with pytest.raises(ValueError, match=pattern):
            _call(vector_model, method, x)


@pytest.mark.parametrize("y", [np.zeros(3), np.zeros((4, 16), "float32"), "x"])
def test_fit_refuses_targets(vector_model, y):
    """An autoencoder's target is its input: a y used to be ignored without a word."""
    x = np.zeros((4, 16), "float32")
    y = x if isinstance(y, str) else y
    pattern = esc("y must be None: ae reconstructs its input, so x is also the target; got y "
                  f"of shape {y.shape}. Call fit(x) without y")
    with pytest.raises(ValueError, match=pattern):
        vector_model.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=pattern):
        vector_model.evaluate(x, y, verbose=0)


@pytest.mark.parametrize("value", [0, -1, 2.5, True, "8"])
@pytest.mark.parametrize("method, name", [("fit", "batch_size"), ("fit", "steps_per_epoch"),
                                          ("fit", "validation_batch_size"),
                                          ("evaluate", "batch_size"), ("predict", "batch_size"),
                                          ("predict", "steps")])
def test_counts_must_be_positive_integers(vector_model, method, name, value):
    x = np.zeros((4, 16), "float32")
    with pytest.raises(ValueError, match=esc(f"{name} must be a positive integer; got "
                                             f"{value!r}.")):
        getattr(vector_model, method)(x, verbose=0, **{name: value})


def test_batch_size_given_by_position_is_checked(vector_model):
    with pytest.raises(ValueError, match=esc("batch_size must be a positive integer; got 0.")):
        vector_model.fit(np.zeros((4, 16), "float32"), None, 0)


@pytest.mark.parametrize("epochs", [-1, 1.5, "2"])
def test_epochs_must_be_a_non_negative_integer(vector_model, epochs):
    with pytest.raises(ValueError, match=esc(f"epochs must be a non-negative integer; got "
                                             f"{epochs!r}.")):
        vector_model.fit(np.zeros((4, 16), "float32"), epochs=epochs, verbose=0)


def test_predict_checks_its_input(vector_model):
    with pytest.raises(ValueError, match=esc("x must have shape (N, 16); got (2, 15).")):
        vector_model.predict(np.zeros((2, 15), "float32"), verbose=0)


@pytest.fixture(scope="module")
def vae_model():
    return kerasae.build("vae", **VEC, hidden_units=(8,))


@pytest.mark.parametrize("n", [2.5, "3", True, False, -1, 0, None])
def test_sample_takes_a_positive_integer(vae_model, n):
    model = vae_model
    with pytest.raises(ValueError, match=esc(f"n (the number of samples) must be a positive "
                                             f"integer; got {n!r}.")):
        model.sample(n)
    assert model.sample(np.int64(2), seed=0).shape == (2, 16)


def test_cvae_takes_its_labels_as_y_or_with_x():
    """fit(x, labels) is fit([x, labels]); both check the labels."""
    model = kerasae.build("cvae", **VEC, hidden_units=(8,), num_classes=3)
    model.compile(optimizer=keras.optimizers.Adam())
    x, labels = np.full((6, 16), 0.5, "float32"), np.arange(6) % 3
    assert np.isfinite(model.fit(x, labels, epochs=1, verbose=0).history["loss"][0])
    with pytest.raises(ValueError, match=esc("condition labels must lie in [0, 3); got values "
                                             "in [0, 7].")):
        model.fit(x, np.array([0, 1, 2, 0, 1, 7]), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="y must be None: cvae reconstructs its input"):
        model.fit([x, labels], labels, epochs=1, verbose=0)
