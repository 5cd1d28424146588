"""beta_tcvae: the total-correlation VAE (Chen et al. 2018), registered over `tc_variational()`."""

from __future__ import annotations

from kerasae.builders.common import NETWORK_DEFAULTS, NetworkSpec
from kerasae.models.tcvae import TotalCorrelationVAE
from kerasae.variants import Variant, builder, deprecated_alias, register


def tc_variational(input_shape: tuple[int, ...], latent_dim: int, *, network: NetworkSpec,
                   **objective) -> TotalCorrelationVAE:
    """reconstruction + alpha * index-code MI + beta * total correlation + gamma *
    dimension-wise KL, q(z) estimated by minibatch-weighted sampling. dataset_size (N) sets the
    MWS weight 1 / (N * batch); it shifts the logged terms by constants and leaves the
    gradients unchanged. The model checks the objective options."""
    encoder, decoder = network.build(input_shape, (latent_dim, latent_dim),
                                     decoder_latent_dim=latent_dim)
    return TotalCorrelationVAE(encoder, decoder, **objective)


_NET = {**NETWORK_DEFAULTS, "hidden_units": (512, 256)}
register(Variant("beta_tcvae", tc_variational,
                 {"beta": 6.0, "alpha": 1.0, "gamma": 1.0, "dataset_size": None,
                  "likelihood": "bernoulli", "observation_std": 0.1, **_NET, "seed": None}))

beta_tcvae = builder("beta_tcvae")
beta_tc_variational_autoencoder = deprecated_alias("beta_tc_variational_autoencoder",
                                                   "beta_tcvae")
