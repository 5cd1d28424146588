"""The importance-weighted autoencoder (Burda, Grosse & Salakhutdinov, ICLR 2016).

The same generative model and inference network as the VAE, trained on a tighter bound: with k
samples z_1..z_k ~ q(z | x) and weights w_s = p(x | z_s) p(z_s) / q(z_s | x),
  L_k(x) = log (1/k) sum_s w_s  <=  log p(x),
which is the ELBO at k = 1 and does not decrease as k grows. Its gradient weights each sample by
its normalised importance weight, so the encoder is no longer pushed to cover only where the
decoder explains x well, and the model uses more of its latent dimensions (Burda et al., Sec. 5).
The objective minimised is -mean_x L_k(x), in nats.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from kerasae import losses
from kerasae._checks import check_int
from kerasae.models.vae import VariationalAutoencoder, refuse_options


def check_importance_samples(importance_samples: int) -> int:
    """k, the number of samples per example in the bound: an integer >= 1."""
    return check_int(importance_samples, "importance_samples (samples per example, k)")


@keras.saving.register_keras_serializable(package="kerasae")
class ImportanceWeightedAutoencoder(VariationalAutoencoder):
    """A VAE trained on the k-sample importance-weighted bound (the IWAE).

    Logs iwae_loss (-L_k, the loss), and for monitoring reconstruction_loss (-log p(x | z) of
    the first sample) and kl_divergence (the analytic KL(q(z | x) || N(0, I))). It has the VAE's
    layers and weights, so a VAE's weights load into it and its own load into a VAE.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        importance_samples: int = 5,
        likelihood: str = "bernoulli",
        observation_std: float = 0.1,
        seed: int | None = None,
        **kwargs,
    ):
        refuse_options("iwae", kwargs, self.NOT_TAKEN, "the importance-weighted bound with "
                       "importance_samples samples per example, which has no KL weight or "
                       "schedule")
        self.importance_samples = check_importance_samples(importance_samples)
        super().__init__(encoder, decoder, likelihood=likelihood,
                         observation_std=observation_std, seed=seed, **kwargs)

    # VariationalAutoencoder options that the bound does not use.
    NOT_TAKEN = ("beta", "kl_warmup_steps", "free_bits", "capacity_max", "capacity_steps",
                 "num_classes")

    def loss_term_names(self) -> list[str]:
        return ["iwae_loss"]

    def monitored_term_names(self) -> list[str]:
        return ["reconstruction_loss", "kl_divergence"]

    def log_weights(self, x, z, mean, log_var, decoder_output):
        """log w = log p(x | z) + log p(z) - log q(z | x) per example, in float32."""
        log_likelihood = -self.per_example_reconstruction(ops.cast(x, "float32"), decoder_output)
        log_prior = ops.sum(losses.gaussian_log_density(z, 0.0, 0.0), axis=-1)
        log_posterior = ops.sum(losses.gaussian_log_density(z, mean, log_var), axis=-1)
        return log_likelihood + log_prior - log_posterior, log_likelihood

    def loss_terms(self, x, condition, outputs) -> list:
        mean, log_var = (ops.cast(outputs[key], "float32") for key in ("mean", "log_var"))
        # the forward pass already drew and decoded one sample: it is the first of the k
        first, first_likelihood = self.log_weights(x, outputs["code"], mean, log_var,
                                                   outputs["decoder_output"])
        log_w = ops.expand_dims(first, 0)
        extra = self.importance_samples - 1
        if extra:
            batch = ops.shape(mean)[0]
            eps = keras.random.normal((extra, batch, self.latent_dim),
                                      seed=self.sampler.seed_generator)
            z = ops.reshape(mean + ops.exp(0.5 * log_var) * eps, (-1, self.latent_dim))
            repeated = ops.tile(x, [extra] + [1] * (len(x.shape) - 1))  # sample-major, as z
            more, _ = self.log_weights(repeated, z, ops.tile(mean, [extra, 1]),
                                       ops.tile(log_var, [extra, 1]), self.decoder_graph(z))
            log_w = ops.concatenate([log_w, ops.reshape(more, (extra, -1))], axis=0)
        bound = ops.logsumexp(log_w, axis=0) - math.log(self.importance_samples)
        kl = ops.sum(ops.mean(losses.gaussian_kl(mean, log_var), axis=0))
        return [-ops.mean(bound), -ops.mean(first_likelihood), kl]

    def objective_config(self) -> dict:
        return {"importance_samples": self.importance_samples, "likelihood": self.likelihood,
                "observation_std": self.observation_std, "seed": self.seed}
