"""Applications built only on a model's public methods."""
