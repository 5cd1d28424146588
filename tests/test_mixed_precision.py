"""Mixed precision: under mixed_float16 and mixed_bfloat16 every variant's objective,
penalties and KL terms are computed in float32 and match the float32 model's within the
rounding of the half-precision networks; short fits lower the loss, with loss scaling for
float16.

Every test sets the global dtype policy through the `policy` fixture, which restores float32
afterwards whatever happens, so no other test sees a mixed policy.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import pytest
from variant_specs import SPECS, fit_inputs

import kerasae

POLICIES = ("mixed_float16", "mixed_bfloat16")
# (label, variant, options over the tiny spec): every variant and every penalty or noise kind.
# The contractive case gets a hidden layer, so its Jacobian runs through a half-precision layer.
CASES = [(name, name, {"hidden_units": (16,)} if name == "contractive_ae" else {})
         for name in SPECS] + [
    ("sparse_ae_l1", "sparse_ae", {"sparsity": "l1", "rho": None, "lam": 1e-3}),
    ("denoising_gaussian", "denoising_ae", {"noise": "gaussian", "noise_level": 0.1}),
    ("denoising_salt_and_pepper", "denoising_ae", {"noise": "salt_and_pepper",
                                                   "noise_level": 0.2}),
]
_TINY_MAE = {"embed_dim": 16, "depth": 1, "num_heads": 2, "decoder_embed_dim": 8,
             "decoder_depth": 1, "decoder_num_heads": 2, "norm_pix_loss": True}
CASES = [(label, name, _TINY_MAE if name == "masked_ae" else options)
         for label, name, options in CASES]
# Relative difference allowed between a mixed-precision loss and the float32 one on the same
# weights and batch: bfloat16 keeps 8 bits of mantissa, float16 11.
RTOL = {"mixed_bfloat16": 3e-2, "mixed_float16": 5e-3}
N = 32


@contextlib.contextmanager
def global_policy(name: str):
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.fixture
def policy(request):
    """Runs the test under the parametrised global policy; float32 again afterwards."""
    with global_policy(request.param):
        yield request.param


def build(name: str, options: dict):
    keras.utils.set_random_seed(0)  # same weights and the same sampling/corruption seeds
    model = kerasae.build(name, **{**SPECS[name]["kwargs"], **options})
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model


def loss_terms(model, name: str) -> list[float]:
    """The objective's terms (reconstruction, penalties or KL, monitored KL) and their total on
    one fixed batch, in one eager training-mode pass: corruption, masking and sampling on."""
    inputs = fit_inputs(name, N)
    inputs = ([keras.ops.convert_to_tensor(a) for a in inputs] if isinstance(inputs, list)
              else keras.ops.convert_to_tensor(inputs))
    outputs = model(inputs, training=True)
    data, condition = model._split(inputs)
    terms = model.loss_terms(data, condition, outputs)
    total = model.compute_loss(x=inputs, y_pred=outputs, training=False)
    for value in [*terms, total]:
        assert keras.backend.standardize_dtype(value.dtype) == "float32", value.dtype
    return [float(keras.ops.convert_to_numpy(v)) for v in [*terms, total]]


_REFERENCES: dict[str, tuple[list[float], list]] = {}


def float32_reference(label: str, name: str, options: dict) -> tuple[list[float], list]:
    """(loss terms, weights) of the float32 model, built once per case for both policies."""
    if label not in _REFERENCES:
        with global_policy("float32"):
            model = build(name, options)
            _REFERENCES[label] = loss_terms(model, name), model.get_weights()
    return _REFERENCES[label]


@pytest.mark.parametrize("policy", POLICIES, indirect=True)
@pytest.mark.parametrize(("label", "name", "options"), CASES, ids=[c[0] for c in CASES])
def test_loss_terms_match_float32(policy, label, name, options):
    """Same weights, same batch, same seeds: every term within the half precision's rounding
    of the float32 model's, and computed in float32."""
    reference, weights = float32_reference(label, name, options)
    keras.mixed_precision.set_global_policy(policy)
    model = build(name, options)
    assert model.dtype_policy.name == policy
    half = policy.removeprefix("mixed_")
    layers = [layer for net in (model.encoder, model.decoder) for layer in net.layers]
    # A linear AE has only the code head and the read-out, which keep float32 by design.
    assert any(layer.compute_dtype == half for layer in layers) or name == "linear_ae"
    model.set_weights(weights)
    terms = loss_terms(model, name)
    assert np.all(np.isfinite(terms)), terms
    np.testing.assert_allclose(terms, reference, rtol=RTOL[policy], atol=1e-4,
                               err_msg=f"{label} under {policy}")


# Fits are slow to trace; these cover sampling and KL, a list input, the Jacobian, corruption.
# (masked_ae does not fit under mixed_float16 on JAX's CPU backend: XLA:CPU has no float16 x
# float16 -> float32 dot, which Keras' JAX attention asks for; a plain MultiHeadAttention model
# fails the same way. It fits under mixed_bfloat16, and on the other backends.)
FIT_CASES = [c for c in CASES if c[0] in ("vae", "cvae", "contractive_ae", "denoising_gaussian")]


@pytest.mark.parametrize("policy", POLICIES, indirect=True)
@pytest.mark.parametrize(("label", "name", "options"), FIT_CASES, ids=[c[0] for c in FIT_CASES])
def test_short_fit_lowers_a_finite_loss(policy, label, name, options):
    model = build(name, options)
    if policy == "mixed_float16":  # compile() wraps the optimizer for float16, as in Keras
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    else:
        assert not isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    history = model.fit(fit_inputs(name, N), batch_size=8, epochs=3, shuffle=False,
                        verbose=0).history
    assert np.all(np.isfinite(history["loss"])), history
    assert history["loss"][-1] < history["loss"][0], history
    assert all(np.isfinite(w).all() for w in model.get_weights())


@pytest.mark.parametrize("policy", ["mixed_float16"], indirect=True)
def test_loss_scaling_recovers_from_float16_overflow(policy):
    """kerasae's compute_loss goes through Keras' loss scaling: a scale so large that the
    float16 gradients overflow makes the optimizer skip those steps and lower the scale, and
    training goes on with finite weights."""
    model = kerasae.build("vae", **SPECS["vae"]["kwargs"])
    initial = 2.0**28
    model.compile(optimizer=keras.optimizers.LossScaleOptimizer(
        keras.optimizers.Adam(1e-2), initial_scale=initial))
    before = model.get_weights()
    history = model.fit(fit_inputs("vae", N), batch_size=4, epochs=4, verbose=0).history
    scale = float(keras.ops.convert_to_numpy(model.optimizer.dynamic_scale))
    assert scale <= initial / 4, scale  # overflowing steps were skipped and halved the scale
    after = model.get_weights()
    assert all(np.isfinite(w).all() for w in after) and np.all(np.isfinite(history["loss"]))
    assert any(not np.array_equal(a, b) for a, b in zip(after, before, strict=True))


@pytest.mark.parametrize("policy", ["mixed_bfloat16"], indirect=True)
def test_outputs_of_the_numpy_methods_are_float32(policy):
    """Code heads and decoder read-outs keep float32 under a mixed policy, so users get float32
    arrays (numpy has no bfloat16) and the VAE's KL sees float32 means and log-variances; the
    numpy methods hand out float32 for the networks without such layers (masked_ae) too."""
    dense_only = {"hidden_units"}  # refused for conv networks (they have no hidden dense layer)
    model = kerasae.build("vae", **{**{k: v for k, v in SPECS["vae"]["kwargs"].items()
                                       if k not in dense_only}, "architecture": "conv",
                                    "input_shape": (8, 8, 1), "filters": (4,)})
    x = SPECS["conv_ae"]["data"](4)
    mean, log_var = model.encode_distribution(x)
    outputs = [model.reconstruct(x), mean, log_var, model.reconstruction_error(x)]
    assert [np.asarray(o).dtype for o in outputs] == [np.float32] * len(outputs)
    hidden = model.decoder.get_layer("decoder_deconv_0")
    assert hidden.compute_dtype == policy.removeprefix("mixed_")
    masked = kerasae.build("masked_ae", **{**SPECS["masked_ae"]["kwargs"], **_TINY_MAE})
    assert [masked.encode(x).dtype, masked.reconstruct(x).dtype] == [np.float32] * 2
