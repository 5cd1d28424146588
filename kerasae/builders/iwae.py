"""iwae: the importance-weighted autoencoder (Burda et al. 2016), registered over
`importance_weighted()`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from kerasae.builders.common import NETWORK_DEFAULTS, NetworkSpec, model_defaults, settle
from kerasae.builders.probabilistic import defaults
from kerasae.models.iwae import ImportanceWeightedAutoencoder, check_importance_samples
from kerasae.models.vae import check_objective
from kerasae.variants import Variant, builder, register

_IWAE = model_defaults(ImportanceWeightedAutoencoder)


@dataclass(frozen=True)
class ImportanceWeightedObjective:
    """The k-sample importance-weighted bound (k = importance_samples; k = 1 is the ELBO),
    checked where it is made (the model checks the same again). It has no KL weight or
    schedule: the bound is the objective."""

    importance_samples: int = _IWAE["importance_samples"]
    likelihood: str = _IWAE["likelihood"]
    observation_std: float = _IWAE["observation_std"]
    seed: int | None = _IWAE["seed"]

    def __post_init__(self):
        settled = check_objective(self.likelihood, self.observation_std, 1.0, 0, 0.0, None, 1,
                                  self.seed)
        settled = {k: settled[k] for k in ("likelihood", "observation_std", "seed")}
        settled["importance_samples"] = check_importance_samples(self.importance_samples)
        settle(self, **settled)

    def model_options(self) -> dict[str, Any]:
        """The model's objective keywords."""
        return dataclasses.asdict(self)


def importance_weighted(input_shape: tuple[int, ...], latent_dim: int, *, network: NetworkSpec,
                        **objective) -> ImportanceWeightedAutoencoder:
    """The family builder: the VAE's Gaussian encoder and decoder of `network`, trained on an
    `ImportanceWeightedObjective` made from `objective`."""
    spec = ImportanceWeightedObjective(**objective)
    encoder, decoder = network.build(input_shape, (latent_dim, latent_dim),
                                     decoder_latent_dim=latent_dim)
    return ImportanceWeightedAutoencoder(encoder, decoder, **spec.model_options())


register(Variant("iwae", importance_weighted,
                 {**defaults(ImportanceWeightedObjective, "importance_samples", "likelihood",
                             "observation_std"), **NETWORK_DEFAULTS, "hidden_units": (512, 256),
                  **defaults(ImportanceWeightedObjective, "seed")}))

iwae = builder("iwae")
