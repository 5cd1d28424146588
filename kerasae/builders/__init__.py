"""Variant builders; importing this package registers them all."""

from kerasae.builders import deterministic, iwae, masked, probabilistic, tcvae  # noqa: F401
