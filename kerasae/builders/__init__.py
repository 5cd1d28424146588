"""Variant builders; importing this package registers them all."""

from kerasae.builders import deterministic, masked, probabilistic, tcvae  # noqa: F401
