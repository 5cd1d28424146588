"""The VAE family: vae, beta_vae and cvae, registered defaults over `variational()`."""

from __future__ import annotations

from kerasae.builders.common import NETWORK_DEFAULTS, NetworkSpec
from kerasae.models.vae import ConditionalVAE, VariationalAutoencoder
from kerasae.variants import Variant, builder, deprecated_alias, register


def variational(input_shape: tuple[int, ...], latent_dim: int, *, network: NetworkSpec,
                num_classes: int | None = None, **objective) -> VariationalAutoencoder:
    """The family builder: a Gaussian encoder (mean and log-variance heads) and a decoder of
    `network`; with num_classes, both also take a one-hot condition (a cvae). The objective
    options (likelihood, observation_std, beta, kl_warmup_steps, free_bits, capacity_max,
    capacity_steps, seed) are checked by the model itself."""
    if num_classes is not None:
        ConditionalVAE.check_num_classes(num_classes)
    encoder, decoder = network.build(input_shape, (latent_dim, latent_dim),
                                     decoder_latent_dim=latent_dim, condition_dim=num_classes)
    if num_classes is None:
        return VariationalAutoencoder(encoder, decoder, **objective)
    return ConditionalVAE(encoder, decoder, num_classes=num_classes, **objective)


def _cvae(input_shape, latent_dim, *, network, num_classes=None, **objective):
    if num_classes is None:
        raise ValueError("cvae needs num_classes, the number of condition labels, e.g. 10.")
    return variational(input_shape, latent_dim, network=network, num_classes=num_classes,
                       **objective)


_NET = {**NETWORK_DEFAULTS, "hidden_units": (512, 256)}
_LIKELIHOOD = {"likelihood": "bernoulli", "observation_std": 0.1}
_SCHEDULE = {"kl_warmup_steps": 0, "free_bits": 0.0}

register(Variant("vae", variational, {**_LIKELIHOOD, **_SCHEDULE, **_NET, "seed": None},
                 {"beta": 1.0}))
register(Variant("beta_vae", variational,
                 {"beta": 4.0, "capacity_max": None, "capacity_steps": 10000, **_LIKELIHOOD,
                  **_SCHEDULE, **_NET, "seed": None}))
register(Variant("cvae", _cvae, {"num_classes": None, **_LIKELIHOOD, **_SCHEDULE, **_NET,
                                 "seed": None}, {"beta": 1.0}))

vae = builder("vae")
beta_vae = builder("beta_vae")
cvae = builder("cvae")
variational_autoencoder = deprecated_alias("variational_autoencoder", "vae")
beta_variational_autoencoder = deprecated_alias("beta_variational_autoencoder", "beta_vae")
conditional_variational_autoencoder = deprecated_alias("conditional_variational_autoencoder",
                                                       "cvae")
