"""Variational autoencoders: vae, beta_vae and cvae share this one class.

Objective (minimised): reconstruction_loss + kl_loss, where per example
  reconstruction_loss = -log p(x | z), z ~ q(z | x), summed over data dimensions,
  kl_divergence      = KL(q(z | x) || N(0, I)), summed over latent dimensions,
both averaged over the batch. With beta = 1, no warm-up, no free bits and no capacity, the loss
is the negative ELBO in nats. kl_loss is what the KL contributes to the loss after the beta
weight, the warm-up factor, the free-bits floor or the capacity target; kl_divergence is the raw
KL, logged for monitoring.
"""

from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np
from keras import ops

from kerasae import losses
from kerasae._checks import check_choice, check_data, check_labels
from kerasae.layers import Sampling
from kerasae.models._inputs import InputCheck
from kerasae.models.autoencoder import Autoencoder

LIKELIHOODS = ("bernoulli", "gaussian")
LOG_VAR_BOUND = 10.0  # exp(10) ~ 2.2e4 in variance: wide enough, never inf


def bounded_log_var(raw):
    """A smooth clamp of the encoder's log-variance to (-10, 10): no exp overflow, no NaN."""
    return LOG_VAR_BOUND * ops.tanh(raw / LOG_VAR_BOUND)


@keras.saving.register_keras_serializable(package="kerasae")
class VariationalAutoencoder(Autoencoder):
    """Gaussian encoder (mean, log-variance), reparameterised sampling, a Bernoulli or Gaussian
    decoder, and the (beta-weighted, optionally annealed) ELBO as its training objective.

    The encoder maps x (and a one-hot condition for a cvae) to [mean, raw log-variance]; the
    decoder maps z (and the condition) to Bernoulli logits or the Gaussian mean.
    """

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
        num_classes: int | None = None,
        seed: int | None = None,
        **kwargs,
    ):
        self.likelihood = check_choice(likelihood, LIKELIHOODS, "likelihood")
        self.observation_std = float(observation_std)
        self.beta = float(beta)
        self.kl_warmup_steps = int(kl_warmup_steps)
        self.free_bits = float(free_bits)
        self.capacity_max = None if capacity_max is None else float(capacity_max)
        self.capacity_steps = int(capacity_steps)
        self.num_classes = None if num_classes is None else int(num_classes)
        self.seed = seed
        kwargs.setdefault("reconstruction_loss", "bce" if likelihood == "bernoulli" else "mse")
        super().__init__(encoder, decoder, **kwargs)
        self.sampler = Sampling(seed=seed, name="sampling")
        # Counts training steps for the KL warm-up and capacity schedules; saved with the
        # weights so resumed training continues the schedule.
        self.training_step = self.add_weight(
            shape=(), initializer="zeros", dtype="float32", trainable=False, name="training_step"
        )

    @property
    def conditional(self) -> bool:
        return self.num_classes is not None

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

    # ----- conditions (cvae) --------------------------------------------------------------

    def _split(self, inputs):
        if not self.conditional:
            return inputs, None
        x, labels = inputs
        return x, self.condition_code(labels)

    def condition_code(self, labels):
        """Integer class labels -> the one-hot vector the networks are conditioned on."""
        return ops.one_hot(ops.cast(ops.reshape(labels, (-1,)), "int32"), self.num_classes)

    def _condition_inputs(self) -> list:
        return [keras.Input((), dtype="int32", name="condition")] if self.conditional else []

    ENDPOINTS = (*Autoencoder.ENDPOINTS, "encode_distribution")

    def endpoint_graph(self, name: str, data, condition=None):
        if name == "encode_distribution":
            return list(self.posterior_graph(data, condition))
        return super().endpoint_graph(name, data, condition)

    def _with_condition(self, array, condition):
        if not self.conditional:
            return super()._with_condition(array, condition)
        if condition is None:
            raise ValueError(
                "this cvae needs condition=labels: integer class labels in "
                f"[0, {self.num_classes}), one per example."
            )
        return [array, self.check_labels(condition, len(array))]

    def check_labels(self, labels, n: int) -> np.ndarray:
        """Integer labels in [0, num_classes), one per example (a scalar is broadcast)."""
        if self.num_classes is None:
            raise ValueError(f"{type(self).__name__} is not conditional: it takes no labels.")
        return check_labels(labels, n, self.num_classes)

    def input_check(self) -> InputCheck:
        return replace(super().input_check(), num_classes=self.num_classes)

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
            extra = self._condition_inputs()
            onehot = self.condition_code(extra[0]) if extra else None
            out = -self.per_example_reconstruction(data, self.decoder_graph(code, onehot))
            cache["log_likelihood"] = keras.Model([data, code, *extra], out, name="log_likelihood")
        inputs = [x, *self._with_condition(z, condition)]
        return cache["log_likelihood"].predict(inputs, batch_size=batch_size, verbose=0)

    def _prior_codes(self, n: int, seed: int | None) -> np.ndarray:
        """z ~ N(0, I): what `sample(n, sampler="prior")` decodes."""
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim))

    # ----- serialisation ------------------------------------------------------------------

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("corruption", "penalties", "reconstruction_loss"):
            config.pop(key)
        config.update(
            likelihood=self.likelihood,
            observation_std=self.observation_std,
            beta=self.beta,
            kl_warmup_steps=self.kl_warmup_steps,
            free_bits=self.free_bits,
            capacity_max=self.capacity_max,
            capacity_steps=self.capacity_steps,
            num_classes=self.num_classes,
            seed=self.seed,
        )
        return config

