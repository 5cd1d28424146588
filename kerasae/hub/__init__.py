"""Presets: save, load (bundled, local folder or Hugging Face Hub), list and publish."""

from __future__ import annotations

import os

import keras

from kerasae.hub.integrity import IntegrityError
from kerasae.hub.preset import (
    load_preset,
    read_metadata,
    save_preset,
    set_preset_sampler,
    update_metadata,
)
from kerasae.hub.registry import PresetStatus, list_models, model_info, preset_status, resolve
from kerasae.hub.remote import HubUnavailableError, push


def load(handle: str | os.PathLike, compile: bool = True) -> keras.Model:
    """Load a pretrained autoencoder. `handle` is a preset name (see `list_models()`): the
    bundled copy when this installation has one, else the revision kerasae's registry pins,
    from huggingface_hub's cache (downloaded on first use); a local preset folder; or
    'hf://org/repo[@revision]'. A preset name wins over a local folder of the same name: write
    './name' for the folder. Works offline (HF_HUB_OFFLINE=1) once cached. Every file is
    checked by sha256."""
    return load_preset(resolve(handle), compile=compile)


__all__ = [
    "HubUnavailableError",
    "IntegrityError",
    "PresetStatus",
    "list_models",
    "load",
    "load_preset",
    "model_info",
    "preset_status",
    "push",
    "read_metadata",
    "resolve",
    "save_preset",
    "set_preset_sampler",
    "update_metadata",
]
