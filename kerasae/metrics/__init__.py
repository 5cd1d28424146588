"""Measures of model quality computed from a model's public methods."""

from kerasae.metrics.likelihood import active_units, importance_weighted_bound, kl_per_dimension

__all__ = ["active_units", "importance_weighted_bound", "kl_per_dimension"]
