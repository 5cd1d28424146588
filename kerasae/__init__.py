"""kerasae: a Keras 3 model zoo of autoencoders for TensorFlow, JAX and PyTorch.

The public names are imported on first use, so `import kerasae` does not start a backend
(`kerasae list` and `kerasae info` answer without one); see kerasae/_lazy.py.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

from kerasae import _lazy
from kerasae._version import __version__

# public name -> module that defines it
_PUBLIC = {
    "Autoencoder": "kerasae.models",
    "build": "kerasae.variants",
    "export": "kerasae.export",
    "list_models": "kerasae.hub",
    "load": "kerasae.hub",
    "model_info": "kerasae.hub",
    "push": "kerasae.hub",
    "register_variant": "kerasae.variants",
    "save_preset": "kerasae.hub",
    "variants": "kerasae.variants",
}

__all__ = ["__version__", "samplers", *sorted(_PUBLIC)]


def _public(name: str) -> Any:
    importlib.import_module(_lazy.REGISTRY)  # the variants register themselves on import
    return getattr(importlib.import_module(_PUBLIC[name]), name)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = globals()[name] = _public(name)
        return value
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        # `kerasae.hub`, `kerasae.apps`, ... without importing them first, as before. Only
        # that module: `from kerasae import cli` comes here too and must stay light (the
        # variants register themselves when Keras is imported, see _lazy).
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'kerasae' has no attribute {name!r}")


class _Function:
    """`kerasae.variants` and `kerasae.export` are functions, as they always were, though
    submodules of the same names exist: importing a submodule binds it on the package, and
    this descriptor ignores that binding."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, package: Any, owner: Any = None) -> Any:
        return _public(self.name)

    def __set__(self, package: Any, value: Any) -> None:
        pass


class _Package(types.ModuleType):
    variants = _Function("variants")
    export = _Function("export")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


sys.modules[__name__].__class__ = _Package
_lazy.install()
