"""beta_tcvae (Chen et al. 2018): the MWS estimator against numpy, the KL identity, training,
logged terms, options and saving. Runs once per backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops
from scipy.special import logsumexp
from variant_specs import SPECS, vectors

import kerasae
from kerasae.models.tcvae import TotalCorrelationVAE, mws_decomposition
from kerasae.variants import variant_options

SPEC = SPECS["beta_tcvae"]["kwargs"]


def numpy_mws(z, mean, log_var, dataset_size):
    """The same estimator, written as loops over the batch in float64."""
    z, mean, log_var = (np.asarray(a, "float64") for a in (z, mean, log_var))
    m, d = z.shape
    log_w = np.log(m * (dataset_size or 1))

    def log_n(v, mu, lv):
        return -0.5 * (np.log(2 * np.pi) + lv + (v - mu) ** 2 / np.exp(lv))

    mi, tc, dim_kl = [], [], []
    for i in range(m):
        pairs = np.array([log_n(z[i], mean[k], log_var[k]) for k in range(m)])  # (M, D)
        log_qz = logsumexp(pairs.sum(axis=1)) - log_w
        log_marg = sum(logsumexp(pairs[:, j]) - log_w for j in range(d))
        log_qzx = log_n(z[i], mean[i], log_var[i]).sum()
        log_pz = log_n(z[i], 0.0, 0.0).sum()
        mi.append(log_qzx - log_qz)
        tc.append(log_qz - log_marg)
        dim_kl.append(log_marg - log_pz)
    return np.array(mi), np.array(tc), np.array(dim_kl)


def posterior_batch(m: int, d: int, seed: int):
    rng = np.random.default_rng(seed)
    mean = rng.normal(0, 1.0, (m, d)).astype("float32")
    log_var = rng.uniform(-2, 0.5, (m, d)).astype("float32")
    z = (mean + np.exp(0.5 * log_var) * rng.standard_normal((m, d))).astype("float32")
    return z, mean, log_var


@pytest.mark.parametrize("dataset_size", [None, 1000])
def test_mws_matches_a_numpy_loop(dataset_size):
    z, mean, log_var = posterior_batch(12, 3, seed=0)
    got = [ops.convert_to_numpy(t) for t in mws_decomposition(z, mean, log_var, dataset_size)]
    for g, want in zip(got, numpy_mws(z, mean, log_var, dataset_size), strict=True):
        assert g.shape == (12,)
        np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-4)


def test_the_three_parts_sum_to_the_kl_estimate():
    """Exactly log q(z|x) - log p(z) per example, whose mean over many samples is the KL."""
    z, mean, log_var = posterior_batch(2000, 2, seed=1)
    mi, tc, dim_kl = (ops.convert_to_numpy(t) for t in mws_decomposition(z[:64], mean[:64],
                                                                          log_var[:64], 10))
    zb, mb, lb = (np.asarray(a[:64], "float64") for a in (z, mean, log_var))
    log_qzx_minus_log_pz = np.sum(-0.5 * (lb + (zb - mb) ** 2 / np.exp(lb)) + 0.5 * zb**2, axis=1)
    np.testing.assert_allclose(mi + tc + dim_kl, log_qzx_minus_log_pz, rtol=1e-4, atol=1e-3)
    # in expectation over z ~ q(z|x): the analytic KL (one sample per posterior, 2000 of them)
    mi, tc, dim_kl = (ops.convert_to_numpy(t) for t in mws_decomposition(z, mean, log_var))
    analytic = 0.5 * (np.exp(log_var) + mean**2 - 1 - log_var).sum(axis=1)
    assert abs(np.mean(mi + tc + dim_kl) - analytic.mean()) < 0.05 * analytic.mean()


@pytest.fixture(scope="module")
def history():
    keras.utils.set_random_seed(3)
    model = kerasae.build("beta_tcvae", **SPEC)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model, model.fit(vectors(128), batch_size=32, epochs=6, verbose=0).history


def test_trains_with_finite_decreasing_loss_and_logs_each_part(history):
    model, h = history
    assert isinstance(model, TotalCorrelationVAE)
    for name in ("loss", "reconstruction_loss", "mi_loss", "tc_loss", "dim_kl_loss",
                 "kl_divergence"):
        assert np.all(np.isfinite(h[name])), name
    assert h["loss"][-1] < h["loss"][0]
    parts = sum(np.array(h[k]) for k in ("reconstruction_loss", "mi_loss", "tc_loss",
                                          "dim_kl_loss"))
    np.testing.assert_allclose(h["loss"], parts, rtol=1e-4)


def test_weights_scale_their_parts():
    """Same weights, same batch: the logged parts scale with alpha, beta and gamma."""
    x = vectors(32, seed=4)
    base = kerasae.build("beta_tcvae", **{**SPEC, "seed": 1, "beta": 1.0})
    other = kerasae.build("beta_tcvae", **{**SPEC, "seed": 1, "alpha": 2.0, "beta": 3.0,
                                          "gamma": 0.5})
    other.set_weights(base.get_weights())
    logs = []
    for model in (base, other):
        model.compile(optimizer=keras.optimizers.SGD(0.0))
        logs.append(model.evaluate(x, batch_size=32, verbose=0, return_dict=True))
    for name, factor in (("mi_loss", 2.0), ("tc_loss", 3.0), ("dim_kl_loss", 0.5)):
        np.testing.assert_allclose(logs[1][name], factor * logs[0][name], rtol=1e-4)


def test_config_round_trip_and_save_load(tmp_path, history):
    model, _ = history
    config = model.get_config()["options"]  # a built model's config: variant + options
    assert (config["alpha"], config["beta"], config["gamma"], config["dataset_size"]) == (
        1.0, 6.0, 1.0, 64)
    path = tmp_path / "tc.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, TotalCorrelationVAE)
    assert loaded.get_config()["options"]["beta"] == 6.0 and loaded.dataset_size == 64
    x = vectors(8, seed=9)
    np.testing.assert_allclose(loaded.encode(x), model.encode(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("option, value", [("beta", -1.0), ("alpha", "x"), ("gamma", None),
                                           ("dataset_size", 0), ("dataset_size", 2.5)])
def test_bad_options_raise(option, value):
    with pytest.raises(ValueError, match=option):
        kerasae.build("beta_tcvae", **{**SPEC, option: value})


def test_registered():
    assert "beta_tcvae" in kerasae.variants()
    assert variant_options("beta_tcvae")["beta"] == 6.0


def test_trains_under_mixed_precision():
    """The estimator and the losses run in float32 whatever the layers compute in."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = kerasae.build("beta_tcvae", **SPEC)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        h = model.fit(vectors(64), batch_size=32, epochs=2, verbose=0).history
    finally:
        keras.config.set_dtype_policy(previous)
    assert all(np.all(np.isfinite(h[k])) for k in ("loss", "tc_loss", "mi_loss", "dim_kl_loss"))
