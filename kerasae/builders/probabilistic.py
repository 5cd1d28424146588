"""The VAE family: vae, beta_vae and cvae, registered defaults over `variational()`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from kerasae.builders.common import NETWORK_DEFAULTS, NetworkSpec, model_defaults, settle
from kerasae.models.vae import ConditionalVAE, VariationalAutoencoder, check_objective
from kerasae.variants import Variant, builder, deprecated_alias, register

_VAE = model_defaults(VariationalAutoencoder)


@dataclass(frozen=True)
class VariationalObjective:
    """What the VAE family trains on, checked where it is made (the model checks the same
    again). likelihood "bernoulli" or "gaussian" (observation_std its fixed std); beta weighs
    the KL, warmed up linearly over kl_warmup_steps, floored per dimension at free_bits, or
    pulled towards a capacity rising to capacity_max nats over capacity_steps; seed fixes the
    sampling; num_classes makes it conditional (a cvae)."""

    likelihood: str = _VAE["likelihood"]
    observation_std: float = _VAE["observation_std"]
    beta: float = _VAE["beta"]
    kl_warmup_steps: int = _VAE["kl_warmup_steps"]
    free_bits: float = _VAE["free_bits"]
    capacity_max: float | None = _VAE["capacity_max"]
    capacity_steps: int = _VAE["capacity_steps"]
    seed: int | None = _VAE["seed"]
    num_classes: int | None = None  # unconditional; ConditionalVAE requires it (no default)

    def __post_init__(self):
        if self.num_classes is not None:
            settle(self, num_classes=ConditionalVAE.check_num_classes(self.num_classes))
        settle(self, **check_objective(**self.model_options()))

    def model_options(self) -> dict[str, Any]:
        """The model's objective keywords (all but num_classes)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "num_classes"}


def defaults(spec: type, *names: str) -> dict[str, Any]:
    """The defaults of a typed spec's fields `names`, in that order: where a variant's
    registered options take them, so each is declared once."""
    given = {f.name: f.default for f in dataclasses.fields(spec)}
    return {name: given[name] for name in names}


def variational(input_shape: tuple[int, ...], latent_dim: int, *, network: NetworkSpec,
                **objective) -> VariationalAutoencoder:
    """The family builder: a Gaussian encoder (mean and log-variance heads) and a decoder of
    `network`, trained on a `VariationalObjective` made from `objective`; with num_classes,
    both also take a one-hot condition (a cvae)."""
    spec = VariationalObjective(**objective)
    encoder, decoder = network.build(input_shape, (latent_dim, latent_dim),
                                     decoder_latent_dim=latent_dim,
                                     condition_dim=spec.num_classes)
    if spec.num_classes is None:
        return VariationalAutoencoder(encoder, decoder, **spec.model_options())
    return ConditionalVAE(encoder, decoder, num_classes=spec.num_classes,
                          **spec.model_options())


def _cvae(input_shape, latent_dim, *, network, num_classes=None, **objective):
    if num_classes is None:
        raise ValueError("cvae needs num_classes, the number of condition labels, e.g. 10.")
    return variational(input_shape, latent_dim, network=network, num_classes=num_classes,
                       **objective)


_NET = {**NETWORK_DEFAULTS, "hidden_units": (512, 256)}
_LIKELIHOOD = defaults(VariationalObjective, "likelihood", "observation_std")
_SCHEDULE = defaults(VariationalObjective, "kl_warmup_steps", "free_bits")
_SEED = defaults(VariationalObjective, "seed")

register(Variant("vae", variational, {**_LIKELIHOOD, **_SCHEDULE, **_NET, **_SEED},
                 defaults(VariationalObjective, "beta")))
register(Variant("beta_vae", variational,
                 {"beta": 4.0, **defaults(VariationalObjective, "capacity_max", "capacity_steps"),
                  **_LIKELIHOOD, **_SCHEDULE, **_NET, **_SEED}))
register(Variant("cvae", _cvae, {**defaults(VariationalObjective, "num_classes"), **_LIKELIHOOD,
                                 **_SCHEDULE, **_NET, **_SEED},
                 defaults(VariationalObjective, "beta")))

vae = builder("vae")
beta_vae = builder("beta_vae")
cvae = builder("cvae")
variational_autoencoder = deprecated_alias("variational_autoencoder", "vae")
beta_variational_autoencoder = deprecated_alias("beta_variational_autoencoder", "beta_vae")
conditional_variational_autoencoder = deprecated_alias("conditional_variational_autoencoder",
                                                       "cvae")
