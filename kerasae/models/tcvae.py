"""beta-TC-VAE (Chen et al. 2018): the ELBO with its KL split into three weighted parts.

For z_i ~ q(z | x_i), the single-sample KL estimate log q(z_i | x_i) - log p(z_i) is the sum of
  index-code mutual information  log q(z_i | x_i) - log q(z_i),
  total correlation              log q(z_i) - sum_j log q(z_ij),
  dimension-wise KL              sum_j log q(z_ij) - log p(z_i),
and the objective is reconstruction + alpha * MI + beta * TC + gamma * dimension-wise KL.
The aggregate posterior q(z) and its marginals q(z_j) are estimated on the minibatch with
minibatch-weighted sampling (MWS): log q(z_i) ~ logsumexp_k log q(z_i | x_k) - log(N M), M the
batch size and N the dataset size. N only shifts the three logged parts by constants (their sum
and every gradient are unchanged), so it matters for monitoring, not for training.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from kerasae import losses
from kerasae._checks import check_optional_positive_int, check_range
from kerasae.losses import gaussian_log_density
from kerasae.models.vae import VariationalAutoencoder, refuse_options


def mws_decomposition(z, mean, log_var, dataset_size: int | None = None):
    """(mi, tc, dim_kl), each shape (batch,): the KL decomposition of Chen et al. (2018) with
    the minibatch-weighted sampling estimator of log q(z) and log q(z_j).

    z, mean, log_var: (M, D) samples z_i ~ q(z | x_i) and the posteriors' parameters.
    dataset_size N: the MWS weight 1 / (N M); None treats the minibatch as the whole dataset
    (weight 1 / M). mi + tc + dim_kl = log q(z_i | x_i) - log p(z_i) exactly, for any N.
    """
    z, mean, log_var = (ops.cast(t, "float32") for t in (z, mean, log_var))
    batch = ops.cast(ops.shape(z)[0], "float32")
    log_weight = ops.log(batch) + (0.0 if dataset_size is None else math.log(dataset_size))
    # pairs[i, k, j] = log q(z_ij | x_k)
    pairs = gaussian_log_density(ops.expand_dims(z, 1), ops.expand_dims(mean, 0),
                                 ops.expand_dims(log_var, 0))
    log_qz = ops.logsumexp(ops.sum(pairs, axis=2), axis=1) - log_weight
    log_qz_marginals = ops.sum(ops.logsumexp(pairs, axis=1) - log_weight, axis=1)
    log_qz_x = ops.sum(gaussian_log_density(z, mean, log_var), axis=1)
    log_pz = ops.sum(gaussian_log_density(z, 0.0, 0.0), axis=1)
    return log_qz_x - log_qz, log_qz - log_qz_marginals, log_qz_marginals - log_pz


def check_weights(alpha: float, beta: float, gamma: float, dataset_size: int | None) -> dict:
    """The decomposed objective's weights and MWS dataset size, checked and normalised; shared
    by the model and the builders' `TotalCorrelationObjective`."""
    for value, name in ((alpha, "alpha (MI weight)"), (beta, "beta (TC weight)"),
                        (gamma, "gamma (dimension-wise KL weight)")):
        check_range(value, 0.0, float("inf"), name)
    return {"alpha": float(alpha), "beta": float(beta), "gamma": float(gamma),
            "dataset_size": check_optional_positive_int(dataset_size, "dataset_size")}


@keras.saving.register_keras_serializable(package="kerasae")
class TotalCorrelationVAE(VariationalAutoencoder):
    """A VAE whose KL is decomposed (MWS estimator) and weighted part by part: alpha on the
    index-code MI, beta on the total correlation, gamma on the dimension-wise KL.

    Logs reconstruction_loss, mi_loss, tc_loss and dim_kl_loss (weighted; `loss` is their sum)
    and kl_divergence, the analytic KL(q(z | x) || N(0, I)) for monitoring.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        alpha: float = 1.0,
        beta: float = 6.0,
        gamma: float = 1.0,
        dataset_size: int | None = None,
        likelihood: str = "bernoulli",
        observation_std: float = 0.1,
        seed: int | None = None,
        **kwargs,
    ):
        refuse_options("beta_tcvae", kwargs, self.NOT_TAKEN, "reconstruction + alpha * MI + "
                       "beta * TC + gamma * dimension-wise KL (options alpha, beta, gamma, "
                       "dataset_size)")
        weights = check_weights(alpha, beta, gamma, dataset_size)
        self.alpha, self.gamma = weights["alpha"], weights["gamma"]
        self.dataset_size = weights["dataset_size"]
        super().__init__(encoder, decoder, likelihood=likelihood,
                         observation_std=observation_std, beta=beta, seed=seed, **kwargs)

    # VariationalAutoencoder options that the decomposed objective replaces or does not use.
    NOT_TAKEN = ("kl_warmup_steps", "free_bits", "capacity_max", "capacity_steps", "num_classes")

    def loss_term_names(self) -> list[str]:
        return ["reconstruction_loss", "mi_loss", "tc_loss", "dim_kl_loss"]

    def loss_terms(self, x, condition, outputs) -> list:
        # float32 throughout, whatever the dtype policy (mixed precision computes in 16 bits)
        decoder_output = ops.cast(outputs["decoder_output"], "float32")
        reconstruction = ops.mean(self.per_example_reconstruction(ops.cast(x, "float32"),
                                                                  decoder_output))
        mi, tc, dim_kl = mws_decomposition(outputs["code"], outputs["mean"], outputs["log_var"],
                                           self.dataset_size)
        mean, log_var = (ops.cast(outputs[k], "float32") for k in ("mean", "log_var"))
        kl = ops.sum(ops.mean(losses.gaussian_kl(mean, log_var), axis=0))
        return [reconstruction, self.alpha * ops.mean(mi),
                self.beta * ops.mean(tc), self.gamma * ops.mean(dim_kl), kl]

    def objective_config(self) -> dict:
        return {"alpha": self.alpha, "beta": self.beta, "gamma": self.gamma,
                "dataset_size": self.dataset_size, "likelihood": self.likelihood,
                "observation_std": self.observation_std, "seed": self.seed}

