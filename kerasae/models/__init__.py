"""Model classes: one per objective family, variants differ by their parts, not their class."""

from kerasae.models.autoencoder import Autoencoder

__all__ = ["Autoencoder"]
