"""iwae (Burda et al. 2016): the k-sample bound against numpy, its tightening with k, training,
logged terms, options, weight exchange with the VAE and saving. Runs once per backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops
from variant_specs import SPECS, vectors

import kerasae
from kerasae import metrics
from kerasae.models.iwae import ImportanceWeightedAutoencoder
from kerasae.variants import variant_options

SPEC = SPECS["iwae"]["kwargs"]


def as_numpy(terms) -> list[float]:
    return [float(ops.convert_to_numpy(t)) for t in terms]


def test_one_sample_gives_log_joint_minus_log_q_against_numpy():
    """At k = 1 the bound is log w = log p(x | z) + log p(z) - log q(z | x) of the forward
    pass's sample z, computed here in float64."""
    model = kerasae.build("iwae", **{**SPEC, "importance_samples": 1, "seed": 0})
    x = vectors(5, seed=1).astype("float64")
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(5, 4))
    log_var = rng.uniform(-2.0, 0.5, size=(5, 4))
    eps = rng.standard_normal((5, 4))
    z = (mean + np.exp(0.5 * log_var) * eps).astype("float32")
    decoded = model.decoder(z)
    logits = ops.convert_to_numpy(decoded).reshape(5, -1).astype("float64")
    log_lik = np.sum(x * logits - np.logaddexp(0.0, logits), axis=1)
    log_prior = np.sum(-0.5 * (np.log(2 * np.pi) + z.astype("float64") ** 2), axis=1)
    log_q = np.sum(-0.5 * (np.log(2 * np.pi) + log_var + eps**2), axis=1)
    outputs = {"mean": mean.astype("float32"), "log_var": log_var.astype("float32"), "code": z,
               "decoder_output": decoded}
    loss, reconstruction, kl = as_numpy(model.loss_terms(x.astype("float32"), None, outputs))
    assert loss == pytest.approx(-np.mean(log_lik + log_prior - log_q), rel=1e-4, abs=1e-3)
    assert reconstruction == pytest.approx(-np.mean(log_lik), rel=1e-4)
    analytic = np.mean(np.sum(0.5 * (np.exp(log_var) + mean**2 - 1 - log_var), axis=1))
    assert kl == pytest.approx(analytic, rel=1e-4)


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(3)
    model = kerasae.build("iwae", **{**SPEC, "seed": 5})
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(vectors(256), batch_size=32, epochs=8, verbose=0).history
    return model, history


def test_the_loss_is_the_importance_weighted_bound_and_tightens_with_k(trained):
    """The training loss agrees with kerasae.metrics.importance_weighted_bound (numpy, float64)
    at the same k, and more samples give a tighter (lower) loss."""
    model, _ = trained
    x = vectors(512, seed=7)
    losses = {}
    for k in (1, 4, 32):
        same = kerasae.build("iwae", **{**SPEC, "importance_samples": k, "seed": 11})
        same.set_weights(model.get_weights())
        same.compile(optimizer=keras.optimizers.SGD(0.0))
        losses[k] = same.evaluate(x, batch_size=512, verbose=0, return_dict=True)["iwae_loss"]
        reference = -metrics.importance_weighted_bound(same, x, k=k, seed=0).mean()
        assert losses[k] == pytest.approx(reference, abs=0.05 + 0.01 * abs(reference))
    assert losses[32] < losses[4] < losses[1]


def test_trains_with_finite_decreasing_loss_and_logs_each_term(trained):
    model, h = trained
    assert isinstance(model, ImportanceWeightedAutoencoder)
    for name in ("loss", "iwae_loss", "reconstruction_loss", "kl_divergence"):
        assert np.all(np.isfinite(h[name])), name
    assert h["loss"][-1] < h["loss"][0]
    np.testing.assert_allclose(h["loss"], h["iwae_loss"], rtol=1e-5)


def test_weights_move_between_a_vae_and_an_iwae(trained):
    """The same layers and variables: a VAE's weights start an IWAE (and back), and both
    encode alike."""
    model, _ = trained
    vae = kerasae.build("vae", **{k: v for k, v in SPEC.items() if k != "importance_samples"})
    vae.set_weights(model.get_weights())
    x = vectors(8, seed=9)
    np.testing.assert_allclose(vae.encode(x), model.encode(x), rtol=1e-6, atol=1e-6)


def test_config_round_trip_and_save_load(tmp_path, trained):
    model, _ = trained
    assert model.get_config()["options"]["importance_samples"] == 4
    path = tmp_path / "iwae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ImportanceWeightedAutoencoder)
    assert loaded.importance_samples == 4
    x = vectors(8, seed=9)
    np.testing.assert_allclose(loaded.encode(x), model.encode(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("option, value, message", [
    ("importance_samples", 0, "importance_samples"), ("importance_samples", 2.5,
                                                      "importance_samples"),
    ("importance_samples", "8", "importance_samples"), ("beta", 4.0, "beta"),
    ("kl_warmup_steps", 100, "kl_warmup_steps"), ("likelihood", "poisson", "likelihood")])
def test_bad_options_raise(option, value, message):
    with pytest.raises(ValueError, match=message):
        kerasae.build("iwae", **{**SPEC, option: value})


def test_registered():
    assert "iwae" in kerasae.variants()
    assert variant_options("iwae")["importance_samples"] == 5


def test_trains_under_mixed_precision():
    """The bound runs in float32 whatever the layers compute in."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = kerasae.build("iwae", **SPEC)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        h = model.fit(vectors(64), batch_size=32, epochs=2, verbose=0).history
    finally:
        keras.config.set_dtype_policy(previous)
    assert all(np.all(np.isfinite(h[k])) for k in ("loss", "reconstruction_loss"))
