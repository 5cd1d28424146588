"""Variant builders; importing this package registers them all."""

from kerasae.builders import deterministic  # noqa: F401
from kerasae.builders import probabilistic  # noqa: F401
