"""Model classes: one per objective family, variants differ by their parts, not their class.

`BaseAutoencoder` is what every autoencoder has (encode, reconstruct, score, the checked Keras
entry points, config and presets); `Autoencoder` adds decoding and sampling (the `Generative`
mixin) and is the base of the VAEs; `MaskedAutoencoder` extends the base alone."""

from kerasae.models.autoencoder import Autoencoder
from kerasae.models.base import BaseAutoencoder
from kerasae.models.generative import Generative
from kerasae.models.iwae import ImportanceWeightedAutoencoder
from kerasae.models.masked import MaskedAutoencoder
from kerasae.models.tcvae import TotalCorrelationVAE
from kerasae.models.vae import ConditionalVAE, VariationalAutoencoder

__all__ = ["Autoencoder", "BaseAutoencoder", "ConditionalVAE", "Generative",
           "ImportanceWeightedAutoencoder", "MaskedAutoencoder", "TotalCorrelationVAE",
           "VariationalAutoencoder"]
