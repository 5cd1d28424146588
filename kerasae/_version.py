"""The kerasae version, in a module of its own so that the hub, the CLI and pyproject.toml read
it without importing the package (or Keras)."""

__version__ = "0.1.0"
