"""kerasae: a Keras 3 model zoo of autoencoders for TensorFlow, JAX and PyTorch."""

__version__ = "0.1.0"

from kerasae import builders as _builders  # noqa: E402,F401  (registers the variants)
from kerasae.models import Autoencoder  # noqa: E402
from kerasae.variants import build, register_variant, variants  # noqa: E402

__all__ = ["Autoencoder", "build", "register_variant", "variants", "__version__"]
