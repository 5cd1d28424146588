"""The VAE family (vae, beta_vae, cvae): the ELBO objective and its KL schedules, sampling,
the posterior endpoints, the likelihood bound and collapse diagnostics, saving and bad options.

Runs once per backend; every check compares against numbers computed here in numpy.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops
from variant_specs import SPECS, fit_inputs, method_kwargs, vectors

import kerasae
from kerasae import losses
from kerasae.layers import Sampling
from kerasae.metrics import active_units, importance_weighted_bound, kl_per_dimension
from kerasae.models.vae import LOG_VAR_BOUND, VariationalAutoencoder, bounded_log_var

LATENT = 4


def build(name: str = "vae", **options) -> VariationalAutoencoder:
    return kerasae.build(name, **{**SPECS[name]["kwargs"], **options})


def compiled(model, learning_rate: float = 1e-2):
    optimizer = (keras.optimizers.SGD(0.0) if learning_rate == 0
                 else keras.optimizers.Adam(learning_rate))
    model.compile(optimizer=optimizer)
    return model


def evaluate(model, x, batch_size=None) -> dict:
    batch_size = batch_size or len(x[0] if isinstance(x, list) else x)
    return model.evaluate(x, batch_size=batch_size, verbose=0, return_dict=True)


def fit_one_batch_per_epoch(model, x, epochs: int) -> dict:
    """History whose epoch t holds exactly training step t's logged terms."""
    n = len(x[0] if isinstance(x, list) else x)
    return model.fit(x, batch_size=n, epochs=epochs, shuffle=False, verbose=0).history


def numpy_kl(mean, log_var):
    mean, log_var = np.asarray(mean, "float64"), np.asarray(log_var, "float64")
    return 0.5 * (np.exp(log_var) + mean**2 - 1.0 - log_var)


def batch_kl_per_dim(model, x, **kwargs) -> np.ndarray:
    """The batch-mean KL of each latent dimension, from the public posterior endpoint."""
    return numpy_kl(*model.encode_distribution(x, **kwargs)).mean(axis=0)


def step(model) -> float:
    return float(ops.convert_to_numpy(model.training_step))


@pytest.fixture(scope="module")
def trained():
    """A small bernoulli beta_vae (latent 4) trained on 16-dim bar data, and that data.

    beta = 0.2 keeps a few latent dimensions in use (with beta = 1 the KL of these continuous
    bars collapses to ~0.5 nats and the bound barely moves with k); the tests that need another
    objective copy its weights into a fresh model of that objective."""
    keras.utils.set_random_seed(123)
    x = vectors(512, seed=0)
    model = compiled(build("beta_vae", beta=0.2, hidden_units=(32,)))
    model.fit(x, batch_size=64, epochs=25, verbose=0)
    return model, x


def copy_of(trained_model, name: str, **options) -> VariationalAutoencoder:
    """A fresh model of another objective with the trained model's weights."""
    model = build(name, hidden_units=(32,), **options)
    model.set_weights(trained_model.get_weights())
    return compiled(model)


# ----- the analytic KL ----------------------------------------------------------------------


def test_gaussian_kl_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mean = rng.uniform(-2.0, 2.0, size=6)
    log_var = rng.uniform(-3.0, 2.0, size=6)
    analytic = ops.convert_to_numpy(
        losses.gaussian_kl(ops.convert_to_tensor(mean[None], "float32"),
                           ops.convert_to_tensor(log_var[None], "float32")))[0]
    assert analytic.shape == (6,)
    n = 400_000
    eps = rng.standard_normal((n, 6))
    z = mean + np.exp(0.5 * log_var) * eps
    # log q(z) - log p(z), the 2*pi constants cancel
    log_ratio = -0.5 * eps**2 - 0.5 * log_var + 0.5 * z**2
    mc = log_ratio.mean(axis=0)
    standard_error = log_ratio.std(axis=0) / np.sqrt(n)
    np.testing.assert_array_less(np.abs(mc - analytic), 5 * standard_error + 1e-5)
    # and exact values: zero at the prior, 0.5 * m^2 for a unit-variance shift
    exact = ops.convert_to_numpy(losses.gaussian_kl(
        ops.convert_to_tensor([[0.0, 1.0, 0.0]]), ops.convert_to_tensor([[0.0, 0.0, np.log(2.0)]])
    ))[0]
    np.testing.assert_allclose(exact, [0.0, 0.5, 0.5 * (1.0 - np.log(2.0))], atol=1e-6)


# ----- sampling -----------------------------------------------------------------------------


def test_sampling_layer_fresh_noise_and_seeded():
    rng = np.random.default_rng(1)
    mean = rng.normal(size=(2000, 3)).astype("float32")
    log_var = rng.uniform(-2, 2, size=(2000, 3)).astype("float32")
    zeros = np.zeros_like(mean)

    def draw(layer, m, lv):
        return ops.convert_to_numpy(layer([ops.convert_to_tensor(m), ops.convert_to_tensor(lv)]))

    a, b, c = Sampling(seed=7), Sampling(seed=7), Sampling(seed=8)
    eps_a1 = draw(a, zeros, zeros)
    eps_a2 = draw(a, zeros, zeros)
    assert not np.allclose(eps_a1, eps_a2), "a second call must draw fresh noise"
    z_b1 = draw(b, mean, log_var)  # same seed: the same first noise, reparameterised
    np.testing.assert_allclose(z_b1, mean + np.exp(0.5 * log_var) * eps_a1, rtol=1e-5, atol=1e-5)
    assert not np.allclose(draw(c, zeros, zeros), eps_a1), "another seed, other noise"
    # the noise is standard normal
    both = np.concatenate([eps_a1, eps_a2]).ravel()
    assert abs(both.mean()) < 0.05 and abs(both.std() - 1.0) < 0.05
    assert Sampling(seed=3).get_config()["seed"] == 3


def test_model_call_draws_fresh_seeded_noise():
    x = ops.convert_to_tensor(vectors(64))

    def eps(out):
        out = {k: ops.convert_to_numpy(v) for k, v in out.items()}
        return (out["code"] - out["mean"]) / np.exp(0.5 * out["log_var"]), out

    model = build("vae", seed=5)
    eps1, out1 = eps(model(x, training=True))
    eps2, out2 = eps(model(x, training=True))
    np.testing.assert_array_equal(out1["mean"], out2["mean"])
    assert not np.allclose(out1["code"], out2["code"]), "each call must sample a fresh z"
    # another model with the same seed draws the same noise first (its weights differ)
    eps_same, out_same = eps(build("vae", seed=5)(x, training=True))
    assert not np.allclose(out_same["mean"], out1["mean"])
    np.testing.assert_allclose(eps_same, eps1, rtol=1e-4, atol=1e-4)
    eps_other, _ = eps(build("vae", seed=6)(x, training=True))
    assert not np.allclose(eps_other, eps1, atol=1e-2)


def test_fit_draws_fresh_noise_at_every_step():
    """With a zero learning rate the weights stay put: the KL (a function of mean and log-var)
    repeats exactly, the sampled reconstruction term may not, unless z is re-drawn."""
    x = vectors(64)
    model = compiled(build("vae", seed=0), learning_rate=0)
    before = [ops.convert_to_numpy(w) for w in model.trainable_weights]
    history = fit_one_batch_per_epoch(model, x, epochs=4)
    for w0, w1 in zip(before, model.trainable_weights, strict=True):
        np.testing.assert_array_equal(w0, ops.convert_to_numpy(w1))
    np.testing.assert_allclose(history["kl_divergence"], history["kl_divergence"][0], rtol=1e-6)
    recon = np.array(history["reconstruction_loss"])
    assert len(np.unique(recon)) == len(recon), f"the same z at every step: {recon}"
    # after fit (on JAX: after the stateless training loop) calls still sample fresh noise
    codes = [ops.convert_to_numpy(model(ops.convert_to_tensor(x), training=True)["code"])
             for _ in range(2)]
    assert not np.allclose(*codes)
    # and so does evaluate
    assert evaluate(model, x)["reconstruction_loss"] != evaluate(model, x)["reconstruction_loss"]


def test_sample_is_seeded_shaped_and_in_range():
    model = build("vae")
    first = model.sample(12, seed=3)
    assert first.shape == (12, 16)
    assert first.min() >= 0.0 and first.max() <= 1.0
    np.testing.assert_array_equal(model.sample(12, seed=3), first)
    assert not np.allclose(model.sample(12, seed=4), first)
    assert not np.allclose(model.sample(12), model.sample(12))
    # the samples are decoder means at z ~ N(0, I): decode of the same numpy draws
    z = np.random.default_rng(3).standard_normal((12, LATENT)).astype("float32")
    np.testing.assert_allclose(model.decode(z), first, rtol=1e-5, atol=1e-6)
    image = kerasae.build("vae", input_shape=(4, 4), latent_dim=2, hidden_units=(8,))
    pictures = image.sample(3, seed=0)
    assert pictures.shape == (3, 4, 4)
    assert pictures.min() >= 0.0 and pictures.max() <= 1.0


# ----- the posterior endpoints --------------------------------------------------------------


def test_encode_is_the_posterior_mean_and_deterministic():
    model = build("vae")
    x = vectors(40)
    mean, log_var = model.encode_distribution(x)
    assert mean.shape == log_var.shape == (40, LATENT)
    code = model.encode(x)
    np.testing.assert_array_equal(code, mean)
    np.testing.assert_array_equal(model.encode(x), code)
    recon = model.reconstruct(x)
    np.testing.assert_array_equal(model.reconstruct(x), recon)
    np.testing.assert_allclose(model.decode(code), recon, rtol=1e-5, atol=1e-6)
    assert recon.shape == x.shape and recon.min() >= 0.0 and recon.max() <= 1.0
    # the posterior mean is also what a forward pass reports as "mean"
    out = model(ops.convert_to_tensor(x))
    np.testing.assert_allclose(ops.convert_to_numpy(out["mean"]), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(out["log_var"]), log_var, rtol=1e-5,
                               atol=1e-6)


def test_log_variance_is_bounded_on_huge_inputs():
    raw = ops.convert_to_tensor([-1e30, -50.0, 0.0, 0.5, 50.0, 1e30])
    bounded = ops.convert_to_numpy(bounded_log_var(raw))
    assert np.all(np.abs(bounded) <= LOG_VAR_BOUND) and np.all(np.isfinite(bounded))
    np.testing.assert_allclose(bounded[[0, -1]], [-LOG_VAR_BOUND, LOG_VAR_BOUND], rtol=1e-6)
    np.testing.assert_allclose(bounded[2:4], [0.0, 0.5], atol=1e-3)  # ~identity near zero

    huge = vectors(32) * 1e6
    with pytest.raises(ValueError, match=r"\[0.0, 1.0\]"):
        build("vae").encode(huge)  # bernoulli needs data in [0, 1]
    model = build("vae", likelihood="gaussian")
    mean, log_var = model.encode_distribution(huge)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(log_var))
    assert np.all(np.abs(log_var) <= LOG_VAR_BOUND)
    assert np.abs(log_var).max() > 0.9 * LOG_VAR_BOUND, "the clamp was not exercised"
    history = compiled(model).fit(huge, batch_size=16, epochs=1, verbose=0).history
    assert all(np.isfinite(history[key][0]) for key in ("loss", "kl_divergence"))
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


# ----- the objective: negative ELBO ---------------------------------------------------------


def test_loss_is_the_negative_elbo(trained):
    base, x = trained
    model = copy_of(base, "vae")
    logs = evaluate(model, x)
    np.testing.assert_allclose(logs["loss"], logs["reconstruction_loss"] + logs["kl_loss"],
                               rtol=1e-5)
    np.testing.assert_allclose(logs["kl_loss"], logs["kl_divergence"], rtol=1e-6)
    np.testing.assert_allclose(logs["kl_divergence"], batch_kl_per_dim(model, x).sum(), rtol=1e-4)
    # the reconstruction term averages -log p(x | z) over sampled z: close to, and on average
    # above, its value at the posterior mean (more so with a wide posterior)
    at_mean = model.reconstruction_error(x).mean()
    assert at_mean - 1.0 < logs["reconstruction_loss"] < at_mean + 10.0


def test_reconstruction_error_is_the_summed_negative_log_likelihood(trained):
    model, x = trained
    p = model.reconstruct(x).astype("float64")
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1)
    error = model.reconstruction_error(x)
    assert error.shape == (len(x),)
    np.testing.assert_allclose(error, bce, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(model.log_likelihood(x, model.encode(x)), -error, rtol=1e-5,
                               atol=1e-5)

    gaussian = build("vae", likelihood="gaussian", observation_std=0.2)
    mu = gaussian.reconstruct(x[:50]).astype("float64")
    expected = (0.5 * ((x[:50] - mu) / 0.2) ** 2 + np.log(0.2) + 0.5 * np.log(2 * np.pi)).sum(1)
    np.testing.assert_allclose(gaussian.reconstruction_error(x[:50]), expected, rtol=1e-4)


# ----- the importance-weighted bound --------------------------------------------------------


def test_importance_weighted_bound(trained):
    model, x = trained
    x = x[:200]
    repeats = 10
    tiled = np.tile(x, (repeats, 1))
    k1 = importance_weighted_bound(model, tiled, k=1, seed=0)
    assert k1.shape == (len(tiled),) and np.all(np.isfinite(k1))
    logs = evaluate(model, tiled, batch_size=500)
    elbo = -(logs["reconstruction_loss"] + logs["kl_divergence"])
    # both are unbiased estimates of the mean ELBO; evaluate's (analytic KL) has less variance
    tolerance = 5 * np.sqrt(2) * k1.std() / np.sqrt(len(k1))
    assert abs(k1.mean() - elbo) < tolerance, (k1.mean(), elbo, tolerance)

    k10 = importance_weighted_bound(model, x, k=10, seed=1)
    k100 = importance_weighted_bound(model, x, k=100, seed=2)
    for bound in (k10, k100):
        assert bound.shape == (len(x),) and np.all(np.isfinite(bound))
    per_example_k1 = k1.reshape(repeats, len(x)).mean(axis=0)
    assert per_example_k1.mean() < k10.mean() < k100.mean()
    assert k100.mean() < 0  # a bound on the log-probability of binary-ish data

    np.testing.assert_array_equal(importance_weighted_bound(model, x, k=10, seed=1), k10)
    assert not np.allclose(importance_weighted_bound(model, x, k=10, seed=3), k10)
    for bad in (0, -3):
        with pytest.raises(ValueError, match="k"):
            importance_weighted_bound(model, x, k=bad)


# ----- KL schedules -------------------------------------------------------------------------


def test_kl_warmup_ramps_the_weight_from_zero_to_beta():
    warmup, beta, epochs = 3, 2.0, 6
    model = compiled(build("beta_vae", beta=beta, kl_warmup_steps=warmup))
    x = vectors(32)
    assert step(model) == 0.0
    history = fit_one_batch_per_epoch(model, x, epochs=epochs)
    kl_loss, kl = np.array(history["kl_loss"]), np.array(history["kl_divergence"])
    assert kl_loss[0] == 0.0 and kl[0] > 0.0
    weights = beta * np.minimum(1.0, np.arange(epochs) / warmup)
    np.testing.assert_allclose(kl_loss, weights * kl, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(kl_loss[warmup:], beta * kl[warmup:], rtol=1e-5)
    np.testing.assert_allclose(history["loss"],
                               np.add(history["reconstruction_loss"], kl_loss), rtol=1e-5)
    assert step(model) == epochs
    model.fit(x, batch_size=8, epochs=1, verbose=0)  # 4 steps
    assert step(model) == epochs + 4


def test_free_bits_floor_each_dimension(trained):
    base, x = trained
    x = x[:256]
    kl_j = batch_kl_per_dim(base, x)
    assert np.ptp(kl_j) > 0.05, kl_j  # a spread to put the floor inside
    floor = float(np.sort(kl_j)[LATENT // 2 - 1] + np.sort(kl_j)[LATENT // 2]) / 2
    logs = evaluate(copy_of(base, "vae", free_bits=floor), x)
    np.testing.assert_allclose(logs["kl_divergence"], kl_j.sum(), rtol=1e-4)
    np.testing.assert_allclose(logs["kl_loss"], np.maximum(kl_j, floor).sum(), rtol=1e-4)
    np.testing.assert_allclose(logs["loss"], logs["reconstruction_loss"] + logs["kl_loss"],
                               rtol=1e-5)

    # a high floor at initialisation: every dimension is below it
    fresh = compiled(build("vae", free_bits=5.0))
    assert np.all(batch_kl_per_dim(fresh, x) < 5.0)
    logs = evaluate(fresh, x)
    np.testing.assert_allclose(logs["kl_loss"], LATENT * 5.0, rtol=1e-6)
    assert logs["kl_divergence"] < logs["kl_loss"]
    history = fresh.fit(x, batch_size=64, epochs=3, verbose=0).history
    assert np.all(np.array(history["kl_loss"]) >= np.array(history["kl_divergence"]))


def test_beta_weights_the_kl(trained):
    base, x = trained
    logs = evaluate(copy_of(base, "beta_vae", beta=4.0), x)
    np.testing.assert_allclose(logs["kl_loss"], 4.0 * logs["kl_divergence"], rtol=1e-5)
    np.testing.assert_allclose(logs["kl_divergence"], batch_kl_per_dim(base, x).sum(), rtol=1e-4)
    np.testing.assert_allclose(logs["loss"], logs["reconstruction_loss"] + logs["kl_loss"],
                               rtol=1e-5)


def test_capacity_target_grows_with_the_step_count(trained):
    base, x = trained
    beta, steps = 4.0, 10
    kl = batch_kl_per_dim(base, x).sum()
    capacity_max = 3.0 * kl  # the target overtakes the KL: the sign of KL - C flips
    model = copy_of(base, "beta_vae", beta=beta, capacity_max=capacity_max,
                    capacity_steps=steps)
    for at in (0, 2, 5, 10, 25):
        model.training_step.assign(float(at))
        logs = evaluate(model, x)
        assert step(model) == at, "evaluate must not advance the schedule"
        target = capacity_max * min(1.0, at / steps)
        np.testing.assert_allclose(logs["kl_divergence"], kl, rtol=1e-4)
        np.testing.assert_allclose(logs["kl_loss"], beta * abs(kl - target), rtol=1e-4)
    model.training_step.assign(4.0)
    history = fit_one_batch_per_epoch(model, x[:64], epochs=2)
    assert step(model) == 6.0
    kl_t = np.array(history["kl_divergence"])
    expected = beta * np.abs(kl_t - capacity_max * np.array([4, 5]) / steps)
    np.testing.assert_allclose(history["kl_loss"], expected, rtol=1e-4)


# ----- cvae ---------------------------------------------------------------------------------


def test_cvae_trains_on_labelled_data_and_needs_the_condition():
    model = compiled(build("cvae"))
    x, y = fit_inputs("cvae", 48)
    history = model.fit([x, y], batch_size=16, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0]) and step(model) == 3
    logs = evaluate(model, [x, y])
    np.testing.assert_allclose(logs["loss"], logs["reconstruction_loss"] + logs["kl_loss"],
                               rtol=1e-5)
    with pytest.raises(ValueError, match=r"fit\(\[x, labels\]\)"):
        model.fit(x, epochs=1, verbose=0)

    kwargs = method_kwargs("cvae", 48)
    code = model.encode(x, **kwargs)
    assert code.shape == (48, LATENT)
    assert model.reconstruct(x, **kwargs).shape == x.shape
    assert not np.allclose(model.encode(x, condition=0), model.encode(x, condition=1))
    np.testing.assert_array_equal(model.encode(x, condition=np.full(48, 2)),
                                  model.encode(x, condition=2))
    for call, data in ((model.encode, x), (model.reconstruct, x), (model.decode, code),
                       (model.reconstruction_error, x), (model.encode_distribution, x)):
        with pytest.raises(ValueError, match="condition"):
            call(data)
        with pytest.raises(ValueError, match=r"\[0, 3\)"):
            call(data, condition=np.full(48, 3))
        with pytest.raises(ValueError, match=r"\[0, 3\)"):
            call(data, condition=-1)
        with pytest.raises(ValueError, match=r"48 integer class labels"):
            call(data, condition=y[:47])
        with pytest.raises(ValueError, match="integer"):
            call(data, condition=y.astype("float32"))

    first = model.sample(48, condition=0, seed=1)
    assert first.shape == (48, 16) and first.min() >= 0.0 and first.max() <= 1.0
    np.testing.assert_array_equal(model.sample(48, condition=0, seed=1), first)
    assert not np.allclose(model.sample(48, condition=1, seed=1), first)
    with pytest.raises(ValueError, match="condition"):
        model.sample(48, seed=1)

    bound = importance_weighted_bound(model, x, k=4, condition=y, seed=0)
    assert bound.shape == (48,) and np.all(np.isfinite(bound))
    assert not np.allclose(importance_weighted_bound(model, x, k=4, condition=(y + 1) % 3,
                                                     seed=0), bound)
    with pytest.raises(ValueError, match="not conditional"):
        build("vae").encode(x, condition=y)


# ----- posterior collapse -------------------------------------------------------------------


class _Posterior:
    """A stand-in model whose posterior is given: mean and log-variance per example."""

    def __init__(self, mean, log_var):
        self.mean, self.log_var = np.asarray(mean), np.asarray(log_var)
        self.conditions = []

    def encode_distribution(self, x, condition=None):
        self.conditions.append(condition)
        return self.mean, self.log_var


def test_active_units_and_kl_per_dimension_exact():
    # binary fractions, so the variances below are exact in floating point
    stub = _Posterior(mean=[[1.0, 0.0, 0.75], [-1.0, 0.0, 0.25]],
                      log_var=[[0.0, 0.0, -1.0], [0.0, np.log(2.0), -1.0]])
    x = np.zeros((2, 5))
    expected_kl = [0.5, 0.25 * (1.0 - np.log(2.0)), 0.5 * (np.exp(-1.0) + 0.3125)]
    np.testing.assert_allclose(kl_per_dimension(stub, x), expected_kl, rtol=1e-12)
    report = active_units(stub, x)
    np.testing.assert_allclose(report["kl_per_dimension"], expected_kl, rtol=1e-12)
    np.testing.assert_array_equal(report["activity"], [1.0, 0.0, 0.0625])
    np.testing.assert_array_equal(report["active"], [True, False, True])
    assert report["num_active"] == 2
    # active means a variance strictly above the threshold
    np.testing.assert_array_equal(active_units(stub, x, threshold=0.0625)["active"],
                                  [True, False, False])
    assert active_units(stub, x, threshold=2.0)["num_active"] == 0
    active_units(stub, x, condition=[1, 2])
    assert stub.conditions[-1] == [1, 2]


def test_active_units_on_a_trained_model(trained):
    model, x = trained
    report = active_units(model, x)
    mean, _ = model.encode_distribution(x)
    assert report["kl_per_dimension"].shape == report["activity"].shape == (LATENT,)
    np.testing.assert_allclose(report["activity"], mean.astype("float64").var(axis=0),
                               rtol=1e-6)
    np.testing.assert_allclose(report["kl_per_dimension"], batch_kl_per_dim(model, x),
                               rtol=1e-6)
    assert np.all(report["kl_per_dimension"] >= 0)
    assert 0 <= report["num_active"] <= LATENT
    assert report["num_active"] == int(report["active"].sum()) >= 1


def test_unused_latent_dimensions_collapse():
    """Bars vary in position and orientation only: with 8 latent dimensions on offer, a VAE
    uses a few and leaves the rest at the prior."""
    keras.utils.set_random_seed(7)
    x = vectors(512, seed=3)
    model = compiled(build("vae", latent_dim=8, hidden_units=(32,)))
    model.fit(x, batch_size=64, epochs=25, verbose=0)
    report = active_units(model, x)
    assert 1 <= report["num_active"] <= 4, report
    inactive = ~report["active"]
    assert np.all(report["kl_per_dimension"][inactive] < 0.1), report


# ----- saving -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, options",
    [
        ("beta_vae", {"likelihood": "gaussian", "observation_std": 0.2, "beta": 3.0,
                      "kl_warmup_steps": 5, "free_bits": 0.1, "capacity_max": 7.0,
                      "capacity_steps": 20, "seed": 3}),
        ("cvae", {"num_classes": 3, "kl_warmup_steps": 2, "free_bits": 0.05}),
    ],
)
def test_save_and_load_keep_the_objective_and_the_schedule(tmp_path, name, options):
    model = compiled(build(name, **options))
    data = fit_inputs(name, 32)
    model.fit(data, batch_size=16, epochs=1, verbose=0)
    assert step(model) == 2.0
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, VariationalAutoencoder) and loaded.variant == name
    for key in ("likelihood", "observation_std", "beta", "kl_warmup_steps", "free_bits",
                "capacity_max", "capacity_steps", "num_classes", "seed"):
        assert getattr(loaded, key) == getattr(model, key), key
    for key, value in options.items():
        assert getattr(loaded, key) == value, key
    assert loaded.options == model.options
    assert step(loaded) == 2.0
    x, kwargs = (data[0], {"condition": data[1]}) if name == "cvae" else (data, {})
    for method in ("encode", "reconstruct"):
        np.testing.assert_allclose(getattr(loaded, method)(x, **kwargs),
                                   getattr(model, method)(x, **kwargs), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded.encode_distribution(x, **kwargs)[1],
                               model.encode_distribution(x, **kwargs)[1], rtol=1e-5, atol=1e-6)
    # training resumes the schedule where it stopped
    loaded.fit(data, batch_size=32, epochs=1, verbose=0)
    assert step(loaded) == 3.0


# ----- bad options --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("vae", {"likelihood": "poisson"}, r"likelihood must be one of \['bernoulli', "),
        ("cvae", {"num_classes": None}, "cvae needs num_classes"),
        ("cvae", {"num_classes": 0}, "num_classes must be a positive integer"),
        ("vae", {"free_bits": -1.0}, r"free_bits .* must be a number in \[0.0, inf\]"),
        ("vae", {"kl_warmup_steps": -1}, "kl_warmup_steps must be >= 0"),
        ("beta_vae", {"beta": -1.0}, "beta must be a number"),
        ("beta_vae", {"capacity_max": -1.0}, "capacity_max"),
        ("beta_vae", {"capacity_max": 5.0, "capacity_steps": 0}, "capacity_steps"),
        ("vae", {"likelihood": "gaussian", "observation_std": 0.0}, "observation_std"),
        ("vae", {"beta": 2.0}, r"unknown option\(s\) \['beta'\]"),
    ],
)
def test_bad_options_raise_clear_errors(name, options, message):
    with pytest.raises(ValueError, match=message):
        build(name, **options)


def test_bad_data_raises():
    model = build("vae")
    with pytest.raises(ValueError, match=r"shape \(N, 16\)"):
        model.encode(np.zeros((3, 15)))
    with pytest.raises(ValueError, match="NaN"):
        model.encode(np.full((3, 16), np.nan))
    with pytest.raises(ValueError, match="same length"):
        model.log_likelihood(vectors(4), np.zeros((3, LATENT)))
