"""kerasae: a Keras 3 model zoo of autoencoders for TensorFlow, JAX and PyTorch."""

__version__ = "0.1.0"

from kerasae import builders as _builders  # noqa: E402,F401  (registers the variants)
from kerasae import samplers  # noqa: E402  (GMM code samplers: model.sample(sampler="gmm"))
from kerasae.export import export  # noqa: E402
from kerasae.hub import list_models, load, model_info, push, save_preset  # noqa: E402
from kerasae.models import Autoencoder  # noqa: E402
from kerasae.variants import build, register_variant, variants  # noqa: E402

__all__ = [
    "Autoencoder",
    "__version__",
    "build",
    "export",
    "list_models",
    "load",
    "model_info",
    "push",
    "register_variant",
    "samplers",
    "save_preset",
    "variants",
]
