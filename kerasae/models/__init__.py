"""Model classes: one per objective family, variants differ by their parts, not their class."""

from kerasae.models.autoencoder import Autoencoder
from kerasae.models.masked import MaskedAutoencoder
from kerasae.models.tcvae import TotalCorrelationVAE
from kerasae.models.vae import ConditionalVAE, VariationalAutoencoder

__all__ = ["Autoencoder", "ConditionalVAE", "MaskedAutoencoder", "TotalCorrelationVAE",
           "VariationalAutoencoder"]
