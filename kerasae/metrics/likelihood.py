"""Likelihood bounds and posterior-collapse diagnostics for the VAE family (all in nats)."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from kerasae.protocols import Conditioned, Posterior, Variational

_LOG_2PI = np.log(2.0 * np.pi)


def importance_weighted_bound(
    model: Variational,
    x,
    k: int = 100,
    *,
    condition=None,
    seed: int | None = None,
    rows_per_batch: int = 4096,
) -> np.ndarray:
    """Per-example lower bound on log p(x) (Burda et al. 2016), shape (N,), in nats.

    log p(x) >= E[ log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x) ],  z_i ~ q(z | x).
    At k = 1 it is the ELBO in expectation; it does not decrease with k and tends to log p(x).
    The negative log-likelihood reported in model cards is -mean(bound).
    """
    if int(k) < 1:
        raise ValueError(f"k (importance samples per example) must be >= 1; got {k!r}.")
    k = int(k)
    x = model.check_inputs(x)
    labels = None
    if condition is not None:
        if not isinstance(model, Conditioned):
            raise ValueError(f"{type(model).__name__} is not conditional: it takes no labels; "
                             "got condition=...")
        labels = model.check_labels(condition, len(x))
    mean, log_var = model.encode_distribution(x, condition=labels)
    rng = np.random.default_rng(seed)
    per_batch = max(1, rows_per_batch // k)
    bounds = []
    for start in range(0, len(x), per_batch):
        stop = start + per_batch
        mu, lv = mean[start:stop].astype("float64"), log_var[start:stop].astype("float64")
        eps = rng.standard_normal((k, *mu.shape))
        z = mu + np.exp(0.5 * lv) * eps  # (k, batch, latent)
        log_q = -0.5 * np.sum(eps**2 + lv + _LOG_2PI, axis=-1)
        log_prior = -0.5 * np.sum(z**2 + _LOG_2PI, axis=-1)
        batch_x = np.broadcast_to(x[start:stop], (k, *x[start:stop].shape))
        flat_labels = None
        if labels is not None:
            flat_labels = np.broadcast_to(labels[start:stop], (k, len(mu))).reshape(-1)
        log_lik = model.log_likelihood(
            batch_x.reshape(-1, *x.shape[1:]),
            z.reshape(-1, z.shape[-1]).astype("float32"),
            condition=flat_labels,
        ).reshape(k, len(mu))
        log_w = log_lik.astype("float64") + log_prior - log_q
        bounds.append(logsumexp(log_w, axis=0) - np.log(k))
    return np.concatenate(bounds) if bounds else np.zeros((0,))


def kl_per_dimension(model: Posterior, x, *, condition=None) -> np.ndarray:
    """Average KL(q(z_j | x) || N(0, 1)) of each latent dimension over the data, shape (latent,)."""
    mean, log_var = model.encode_distribution(x, condition=condition)
    mean, log_var = mean.astype("float64"), log_var.astype("float64")
    return np.mean(0.5 * (np.exp(log_var) + mean**2 - 1.0 - log_var), axis=0)


def active_units(model: Posterior, x, *, condition=None, threshold: float = 1e-2) -> dict:
    """Posterior-collapse diagnostic: a dimension is active when its posterior mean varies
    across the data, Cov_x(E_q[z_j]) > threshold (Burda et al. 2016).

    Returns {"kl_per_dimension", "activity", "active", "num_active"}.
    """
    mean, _ = model.encode_distribution(x, condition=condition)
    activity = np.var(mean.astype("float64"), axis=0)
    active = activity > threshold
    return {
        "kl_per_dimension": kl_per_dimension(model, x, condition=condition),
        "activity": activity,
        "active": active,
        "num_active": int(active.sum()),
    }
