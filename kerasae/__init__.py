"""kerasae: a Keras 3 model zoo of autoencoders for TensorFlow, JAX and PyTorch.

Architectures: `list_variants()` (also `variants()`), `build(variant, ...)`, `register_variant`.
Pretrained presets: `list_pretrained()` (also `list_models()`), `model_info`, `load` (also
`Autoencoder.from_preset`), `save_preset`, `push`; `export` for serving. Public submodules:
`apps` (and `apps.pictures`), `conv`, `data`, `distribute`, `finetune`, `hub`, `metrics`,
`models`, `presets` (how each bundled preset was trained and measured), `protocols` (what the
apps ask of a model) and `samplers`.

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
    "BaseAutoencoder": "kerasae.models",
    "build": "kerasae.variants",
    "export": "kerasae.export",
    "list_models": "kerasae.hub",
    "load": "kerasae.hub",
    "model_info": "kerasae.hub",
    "push": "kerasae.hub",
    "register_variant": "kerasae.variants",
    "save_preset": "kerasae.hub",
    "variant_options": "kerasae.variants",
    "variants": "kerasae.variants",
}
# names that are the same function under a second name: timm's pair for the zoo's two lists,
# beside the names the contract has always had (`list_models()` lists pretrained presets and
# `variants()` architectures; in timm, `list_models()` lists architectures)
_ALIASES = {
    "list_pretrained": "list_models",  # pretrained presets, for `load`
    "list_variants": "variants",  # architectures, for `build`
}
# submodules that are part of the public surface (the README uses them)
_MODULES = ("apps", "conv", "data", "distribute", "finetune", "hub", "metrics", "models",
            "presets", "protocols", "samplers")

__all__ = ["__version__", *sorted([*_PUBLIC, *_ALIASES]), *_MODULES]


def _public(name: str) -> Any:
    importlib.import_module(_lazy.REGISTRY)  # the variants register themselves on import
    name = _ALIASES.get(name, name)
    return getattr(importlib.import_module(_PUBLIC[name]), name)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC or name in _ALIASES:
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
    this descriptor ignores that binding. Any other assignment (a test's monkeypatch, say)
    takes effect until it is deleted or another value is assigned."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, package: Any, owner: Any = None) -> Any:
        if package is not None and self.name in _ASSIGNED:
            return _ASSIGNED[self.name]
        return _public(self.name)

    def __set__(self, package: Any, value: Any) -> None:
        if isinstance(value, types.ModuleType) and value.__name__ == f"{__name__}.{self.name}":
            return  # the import system binding the submodule
        _ASSIGNED[self.name] = value

    def __delete__(self, package: Any) -> None:
        if self.name not in _ASSIGNED:
            raise AttributeError(f"kerasae.{self.name} was not assigned; it cannot be deleted.")
        del _ASSIGNED[self.name]


_ASSIGNED: dict[str, Any] = {}  # values assigned to the names _Function guards


class _Package(types.ModuleType):
    variants = _Function("variants")
    export = _Function("export")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


sys.modules[__name__].__class__ = _Package
_lazy.install()
