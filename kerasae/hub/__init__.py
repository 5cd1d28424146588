"""Presets: save, load (bundled, local folder or Hugging Face Hub), list and publish.

The names below are imported on first use (PEP 562), so `kerasae.hub._meta`, which reads preset
metadata without Keras, can be imported without starting a backend (`kerasae list` and `info`).
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

# public name -> the module that defines it
_PUBLIC = {
    "HubUnavailableError": "kerasae.hub.remote",
    "IntegrityError": "kerasae._checks",
    "PresetStatus": "kerasae.hub.registry",
    "list_models": "kerasae.hub.registry",
    "load_preset": "kerasae.hub.preset",
    "model_info": "kerasae.hub.registry",
    "preset_status": "kerasae.hub.registry",
    "push": "kerasae.hub.remote",
    "read_metadata": "kerasae.hub._meta",
    "resolve": "kerasae.hub.registry",
    "save_preset": "kerasae.hub.preset",
    "set_preset_pictures": "kerasae.hub.preset",
    "set_preset_sampler": "kerasae.hub.preset",
    "update_metadata": "kerasae.hub.preset",
}


def load(handle: str | os.PathLike, compile: bool = True) -> keras.Model:
    """Load a pretrained autoencoder. `handle` is a preset name (see `list_models()`): the
    bundled copy when this installation has one, else the revision kerasae's registry pins,
    from huggingface_hub's cache (downloaded on first use); a local preset folder; or
    'hf://org/repo[@revision]'. A preset name wins over a local folder of the same name: write
    './name' for the folder. Works offline (HF_HUB_OFFLINE=1) once cached. Every file is
    checked by sha256."""
    from kerasae.hub.preset import load_preset  # imports Keras: only when a model is loaded
    from kerasae.hub.registry import resolve

    return load_preset(resolve(handle), compile=compile)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = globals()[name] = getattr(importlib.import_module(_PUBLIC[name]), name)
        return value
    raise AttributeError(f"module 'kerasae.hub' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


__all__ = ["load", *sorted(_PUBLIC)]
