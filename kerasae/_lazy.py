"""Import kerasae without importing Keras, and still register its classes with Keras.

`import kerasae` stays cheap (the command line lists presets without starting a backend): the
public names are loaded on first use (PEP 562). Keras finds kerasae's layers and models in
`.keras` files through `register_keras_serializable`, which runs when kerasae's modules are
imported; so that `import kerasae; keras.saving.load_model(...)` keeps working in any import
order, a finder on `sys.meta_path` imports `kerasae.builders` (everything registrable) right
after Keras itself is imported, or as soon as no kerasae module is half-imported.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

REGISTRY = "kerasae.builders"


def _half_imported(skip: str | None = None) -> bool:
    """Whether a kerasae module is still executing (importing the registry now would see it
    half-built)."""
    for name, module in list(sys.modules.items()):
        if name != skip and (name == "kerasae" or name.startswith("kerasae.")):
            spec = getattr(module, "__spec__", None)
            if spec is not None and getattr(spec, "_initializing", False):
                return True
    return False


class RegisterWithKeras(importlib.abc.MetaPathFinder):
    """Watches the import of `keras` (and of kerasae's own modules) to import the registry
    once Keras is there."""

    def __init__(self) -> None:
        self.pending = False
        self._busy = False

    def find_spec(self, name, path, target=None):
        if self._busy or not (name == "keras" or name.startswith("kerasae.")):
            return None
        self._busy = True  # find the real spec through the other finders
        try:
            spec = importlib.util.find_spec(name) if name == "keras" else _find(name, path)
        finally:
            self._busy = False
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module, _run=run, _name=name):
            _run(module)
            if _name == "keras":
                self.pending = True
            self.flush(skip=_name)

        loader.exec_module = exec_module
        return spec

    def flush(self, skip: str | None = None) -> None:
        if self.pending and not _half_imported(skip):
            self.pending = False
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            importlib.import_module(REGISTRY)


def _find(name: str, path):
    for finder in sys.meta_path:
        if isinstance(finder, RegisterWithKeras) or not hasattr(finder, "find_spec"):
            continue
        spec = finder.find_spec(name, path)
        if spec is not None:
            return spec
    return None


def install() -> None:
    """Register now if Keras is already imported, else when it is."""
    if "keras" in sys.modules:
        importlib.import_module(REGISTRY)
        return
    if not any(isinstance(f, RegisterWithKeras) for f in sys.meta_path):
        sys.meta_path.insert(0, RegisterWithKeras())
