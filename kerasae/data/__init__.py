"""Dataset loaders. They know nothing of models: they return numpy arrays."""

from kerasae.data.mnist import load_mnist, load_mnist_sample

__all__ = ["load_mnist", "load_mnist_sample"]
