"""Presets: save, load (bundled, local folder or Hugging Face Hub), list and publish."""

from __future__ import annotations

import os

import keras

from kerasae.hub.integrity import IntegrityError
from kerasae.hub.preset import load_preset, read_metadata, save_preset, update_metadata
from kerasae.hub.registry import list_models, model_info, resolve
from kerasae.hub.remote import push


def load(handle: str | os.PathLike, compile: bool = True) -> keras.Model:
    """Load a pretrained autoencoder: `handle` is a bundled preset name (see `list_models()`),
    a local preset folder, or 'hf://org/repo[@revision]' (through huggingface_hub's cache;
    works offline with HF_HUB_OFFLINE=1 once cached). Every file is checked by sha256."""
    return load_preset(resolve(handle), compile=compile)


__all__ = [
    "IntegrityError",
    "list_models",
    "load",
    "load_preset",
    "model_info",
    "push",
    "read_metadata",
    "resolve",
    "save_preset",
    "update_metadata",
]
