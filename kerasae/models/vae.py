"""Variational autoencoders: vae and beta_vae are this one class; the cvae adds conditioning
(`ConditionalVAE`, with `kerasae.models.conditional.Conditional`).

Objective (minimised): reconstruction_loss + kl_loss, where per example
  reconstruction_loss = -log p(x | z), z ~ q(z | x), summed over data dimensions,
  kl_divergence      = KL(q(z | x) || N(0, I)), summed over latent dimensions,
both averaged over the batch. With beta = 1, no warm-up, no free bits and no capacity, the loss
is the negative ELBO in nats. kl_loss is what the KL contributes to the loss after the beta
weight, the warm-up factor, the free-bits floor or the capacity target; kl_divergence is the raw
KL, logged for monitoring.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kerasae import losses
from kerasae._checks import check_choice, check_data, check_int, check_range
from kerasae.layers import Sampling
from kerasae.models.autoencoder import Autoencoder
from kerasae.models.conditional import Conditional

LIKELIHOODS = ("bernoulli", "gaussian")
LOG_VAR_BOUND = 10.0  # exp(10) ~ 2.2e4 in variance: wide enough, never inf


def bounded_log_var(raw):
    """A smooth clamp of the encoder's log-variance to (-10, 10): no exp overflow, no NaN."""
    return LOG_VAR_BOUND * ops.tanh(raw / LOG_VAR_BOUND)


def check_objective(likelihood: str, observation_std: float, beta: float, kl_warmup_steps: int,
                    free_bits: float, capacity_max: float | None, capacity_steps: int,
                    seed: int | None) -> dict:
    """The VAE objective's options, checked and normalised (floats, ints); shared by the model
    and the builders' `VariationalObjective` so both refuse a value with the same message."""
    check_choice(likelihood, LIKELIHOODS, "likelihood")
    observation_std = check_range(observation_std, 0.0, float("inf"), "observation_std",
                                  inclusive=False)
    beta = check_range(beta, 0.0, float("inf"), "beta")
    if (isinstance(kl_warmup_steps, bool) or not isinstance(kl_warmup_steps, (int, np.integer))
            or kl_warmup_steps < 0):
        raise ValueError(f"kl_warmup_steps must be >= 0 (an integer); got {kl_warmup_steps!r}.")
    free_bits = check_range(free_bits, 0.0, float("inf"), "free_bits (nats per dimension)")
    if capacity_max is not None:
        capacity_max = check_range(capacity_max, 0.0, float("inf"), "capacity_max (nats)")
        capacity_steps = check_int(capacity_steps, "capacity_steps")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"seed must be None or an integer; got {seed!r}.")
    return {"likelihood": likelihood, "observation_std": observation_std, "beta": beta,
            "kl_warmup_steps": int(kl_warmup_steps), "free_bits": free_bits,
            "capacity_max": capacity_max, "capacity_steps": int(capacity_steps), "seed": seed}


def refuse_options(variant: str, kwargs: dict, not_taken: tuple[str, ...],
                   objective: str) -> None:
    """A ValueError naming the VAE options in `kwargs` that `variant`'s objective replaces."""
    given = sorted(set(kwargs) & set(not_taken))
    if given:
        raise ValueError(f"{variant} does not take {given}: its objective is {objective}; got "
                         f"{({k: kwargs[k] for k in given})}.")


@keras.saving.register_keras_serializable(package="kerasae")
class VariationalAutoencoder(Autoencoder):
    """Gaussian encoder (mean, log-variance), reparameterised sampling, a Bernoulli or Gaussian
    decoder, and the (beta-weighted, optionally annealed) ELBO as its training objective.

    The encoder maps x (and a one-hot condition for a cvae) to [mean, raw log-variance]; the
    decoder maps z (and the condition) to Bernoulli logits or the Gaussian mean.
    """

    # The family's objective has an optional condition (VariationalObjective.num_classes): None
    # for an unconditional VAE; `ConditionalVAE` sets it.
    num_classes: int | None = None

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        likelihood: str = "bernoulli",
        observation_std: float = 0.1,
        beta: float = 1.0,
        kl_warmup_steps: int = 0,
        free_bits: float = 0.0,
        capacity_max: float | None = None,
        capacity_steps: int = 10000,
        seed: int | None = None,
        **kwargs,
    ):
        settled = check_objective(likelihood, observation_std, beta, kl_warmup_steps, free_bits,
                                  capacity_max, capacity_steps, seed)
        for key, value in settled.items():
            setattr(self, key, value)
        kwargs.setdefault("reconstruction_loss", "bce" if likelihood == "bernoulli" else "mse")
        super().__init__(encoder, decoder, **kwargs)
        self.sampler = Sampling(seed=seed, name="sampling")
        # Counts training steps for the KL warm-up and capacity schedules; saved with the
        # weights so resumed training continues the schedule.
        self.training_step = self.add_weight(
            shape=(), initializer="zeros", dtype="float32", trainable=False, name="training_step"
        )

    # ----- the forward pass ---------------------------------------------------------------

    def posterior_graph(self, x, condition=None):
        """(mean, bounded log-variance) of q(z | x)."""
        inputs = x if condition is None else [x, condition]
        mean, raw_log_var = self.encoder(inputs)
        return mean, bounded_log_var(raw_log_var)

    def code_graph(self, x, condition=None):
        return self.posterior_graph(x, condition)[0]

    def decoder_graph(self, z, condition=None):
        return self.decoder(z if condition is None else [z, condition])

    def mean_graph(self, decoder_output):
        if self.likelihood == "bernoulli":
            return ops.sigmoid(decoder_output)
        return decoder_output

    def call(self, inputs, training=False):
        x, condition = self._split(inputs)
        mean, log_var = self.posterior_graph(x, condition)
        z = self.sampler([mean, log_var])
        return {
            "decoder_output": self.decoder_graph(z, condition),
            "code": z,
            "mean": mean,
            "log_var": log_var,
        }

    # ----- the objective ------------------------------------------------------------------

    def loss_term_names(self) -> list[str]:
        return ["reconstruction_loss", "kl_loss"]

    def monitored_term_names(self) -> list[str]:
        return ["kl_divergence"]

    def per_example_reconstruction(self, x, decoder_output):
        """-log p(x | z) per example, summed over data dimensions (nats)."""
        decoder_output = ops.cast(decoder_output, "float32")  # mixed precision: loss in float32
        if self.likelihood == "bernoulli":
            return losses.bernoulli_nll(x, decoder_output)
        log_scale = ops.full_like(decoder_output, np.log(self.observation_std))
        return losses.gaussian_nll(x, decoder_output, log_scale)

    def loss_terms(self, x, condition, outputs) -> list:
        reconstruction = ops.mean(self.per_example_reconstruction(x, outputs["decoder_output"]))
        kl_per_dim = ops.mean(losses.gaussian_kl(outputs["mean"], outputs["log_var"]), axis=0)
        kl = ops.sum(kl_per_dim)
        return [reconstruction, self.kl_objective(kl_per_dim, kl), kl]

    def kl_objective(self, kl_per_dim, kl):
        """The KL's contribution to the loss: beta, warm-up, free bits, capacity (in that order
        of the options' documentation)."""
        step = self.training_step
        if self.free_bits > 0:  # Kingma et al. 2016: no gain below free_bits nats per dimension
            kl = ops.sum(ops.maximum(kl_per_dim, self.free_bits))
        if self.capacity_max is not None:  # Burgess et al. 2018: |KL - C|, C grows to c_max
            capacity = self.capacity_max * ops.minimum(1.0, step / max(self.capacity_steps, 1))
            kl = ops.abs(kl - capacity)
        weight = self.beta
        if self.kl_warmup_steps > 0:  # Bowman et al. 2016: linear annealing from 0 to beta
            weight = weight * ops.minimum(1.0, step / self.kl_warmup_steps)
        return weight * kl

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x, y, y_pred, sample_weight, training)
        if training:
            self.training_step.assign(self.training_step + 1.0)
        return loss

    ENDPOINTS = (*Autoencoder.ENDPOINTS, "encode_distribution")

    def endpoint_graph(self, name: str, data, condition=None):
        if name == "encode_distribution":
            return list(self.posterior_graph(data, condition))
        return super().endpoint_graph(name, data, condition)

    def _needs_unit_range(self) -> bool:
        return self.likelihood == "bernoulli"

    # ----- VAE-only public methods --------------------------------------------------------

    def encode_distribution(self, x, batch_size: int = 256, condition=None):
        """(mean, log_variance) of q(z | x), each (N, latent_dim)."""
        mean, log_var = self._run("encode_distribution", self._inputs_for(x, condition),
                                  batch_size)
        return mean, log_var

    def log_likelihood(self, x, z, condition=None, batch_size: int = 1024) -> np.ndarray:
        """log p(x | z) per example, shape (N,), in nats: the decoder's likelihood of x at z."""
        x = self.check_inputs(x)
        z = check_data(z, (self.latent_dim,), "z")
        if len(z) != len(x):
            raise ValueError(f"x and z must have the same length; got {len(x)} and {len(z)}.")
        cache = self._endpoints.models
        if "log_likelihood" not in cache:
            data = keras.Input(self.data_shape, name="x")
            code = keras.Input((self.latent_dim,), name="z")
            extra, onehot = self._condition_inputs()
            out = -self.per_example_reconstruction(data, self.decoder_graph(code, onehot))
            cache["log_likelihood"] = keras.Model([data, code, *extra], out, name="log_likelihood")
        inputs = [x, *self._with_condition(z, condition)]
        return cache["log_likelihood"].predict(inputs, batch_size=batch_size, verbose=0)

    def _prior_codes(self, n: int, seed: int | None) -> np.ndarray:
        """z ~ N(0, I): what `sample(n, sampler="prior")` decodes."""
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim))

    # ----- serialisation ------------------------------------------------------------------

    def objective_config(self) -> dict:
        return {
            "likelihood": self.likelihood,
            "observation_std": self.observation_std,
            "beta": self.beta,
            "kl_warmup_steps": self.kl_warmup_steps,
            "free_bits": self.free_bits,
            "capacity_max": self.capacity_max,
            "capacity_steps": self.capacity_steps,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: dict):
        num_classes = config.get("num_classes")
        if num_classes is not None and not issubclass(cls, Conditional):
            # a hand-built cvae saved before ConditionalVAE existed
            return ConditionalVAE.from_config(config)
        if num_classes is None:
            config = {k: v for k, v in config.items() if k != "num_classes"}
        return super().from_config(config)


@keras.saving.register_keras_serializable(package="kerasae")
# Conditional narrows the VAE's `num_classes: int | None` to int, which mypy calls incompatible.
class ConditionalVAE(Conditional, VariationalAutoencoder):  # type: ignore[misc]
    """The cvae (Sohn et al. 2015): a VAE whose encoder and decoder both see a one-hot class
    label. Trains with fit([x, labels]); encode/decode/reconstruct/sample take condition=labels."""

    def __init__(self, encoder: keras.Model, decoder: keras.Model, num_classes: int, **kwargs):
        self._set_num_classes(num_classes)
        super().__init__(encoder, decoder, **kwargs)
