"""beta_tcvae: the total-correlation VAE (Chen et al. 2018), registered over `tc_variational()`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from kerasae.builders.common import NETWORK_DEFAULTS, NetworkSpec, model_defaults, settle
from kerasae.builders.probabilistic import defaults
from kerasae.models.tcvae import TotalCorrelationVAE, check_weights
from kerasae.models.vae import check_objective
from kerasae.variants import Variant, builder, deprecated_alias, register

_TCVAE = model_defaults(TotalCorrelationVAE)


@dataclass(frozen=True)
class TotalCorrelationObjective:
    """reconstruction + alpha * index-code MI + beta * total correlation + gamma *
    dimension-wise KL, q(z) estimated by minibatch-weighted sampling, checked where it is made
    (the model checks the same again). dataset_size (N) sets the MWS weight 1 / (N * batch);
    it shifts the logged terms by constants and leaves the gradients unchanged. It has no KL
    schedule (warm-up, free bits, capacity): the weights replace it."""

    beta: float = _TCVAE["beta"]
    alpha: float = _TCVAE["alpha"]
    gamma: float = _TCVAE["gamma"]
    dataset_size: int | None = _TCVAE["dataset_size"]
    likelihood: str = _TCVAE["likelihood"]
    observation_std: float = _TCVAE["observation_std"]
    seed: int | None = _TCVAE["seed"]

    def __post_init__(self):
        settled = check_weights(self.alpha, self.beta, self.gamma, self.dataset_size)
        vae = check_objective(self.likelihood, self.observation_std, self.beta, 0, 0.0, None,
                              1, self.seed)
        settled.update({k: vae[k] for k in ("likelihood", "observation_std", "seed")})
        settle(self, **settled)

    def model_options(self) -> dict[str, Any]:
        """The model's objective keywords."""
        return dataclasses.asdict(self)


def tc_variational(input_shape: tuple[int, ...], latent_dim: int, *, network: NetworkSpec,
                   **objective) -> TotalCorrelationVAE:
    """The family builder: a Gaussian encoder and a decoder of `network`, trained on a
    `TotalCorrelationObjective` made from `objective`."""
    spec = TotalCorrelationObjective(**objective)
    encoder, decoder = network.build(input_shape, (latent_dim, latent_dim),
                                     decoder_latent_dim=latent_dim)
    return TotalCorrelationVAE(encoder, decoder, **spec.model_options())


_NET = {**NETWORK_DEFAULTS, "hidden_units": (512, 256)}
register(Variant("beta_tcvae", tc_variational,
                 {**defaults(TotalCorrelationObjective, "beta", "alpha", "gamma", "dataset_size",
                             "likelihood", "observation_std"), **_NET,
                  **defaults(TotalCorrelationObjective, "seed")}))

beta_tcvae = builder("beta_tcvae")
beta_tc_variational_autoencoder = deprecated_alias("beta_tc_variational_autoencoder",
                                                   "beta_tcvae")
