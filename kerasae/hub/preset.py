"""The preset folder: config.json, model.weights.h5, README.md (model card), metadata.json.

The same folder is bundled in `weights/`, shipped inside the wheel and uploaded to the Hub.
Loading never unpickles: the config is JSON deserialised with Keras' safe_mode on and the
weights are plain HDF5 arrays, each file checked against its sha256 first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import keras

from kerasae.hub.card import model_card
from kerasae.hub.integrity import IntegrityError, atomic_directory, sha256, verify_files

FORMAT_VERSION = 1
CONFIG, WEIGHTS, CARD, METADATA = "config.json", "model.weights.h5", "README.md", "metadata.json"
PRESET_FILES = (CONFIG, WEIGHTS, CARD, METADATA)


def save_preset(model: keras.Model, directory: str | os.PathLike,
                metadata: dict[str, Any] | None = None) -> Path:
    """Write `model` as a preset folder, atomically (a crash leaves the old folder or none).

    `metadata` adds or overrides fields: dataset, split, preprocessing, training (command,
    seed, ...), metrics ({name: {"value", "split", "description"}}), licence, tags. Versions,
    the input spec, lineage (when `model` came from a preset) and file hashes are filled in.
    """
    import kerasae

    directory = Path(directory)
    meta = _base_metadata(model, directory.name)
    meta.update(metadata or {})
    parent = getattr(model, "preset_metadata", None)
    if parent and "lineage" not in (metadata or {}):
        meta["lineage"] = [*parent.get("lineage", []), _lineage_entry(parent)]
    meta.update(format_version=FORMAT_VERSION, kerasae_version=kerasae.__version__,
                keras_version=keras.__version__)
    config = keras.saving.serialize_keras_object(model)
    # No training state: Keras adds the compile config (the optimiser's class, which on torch
    # is a torch-only module) and saves the optimiser's variables when the model is compiled.
    config.pop("compile_config", None)
    optimizer = getattr(model, "optimizer", None)
    with atomic_directory(directory) as tmp:
        (tmp / CONFIG).write_text(json.dumps(config, indent=1) + "\n")
        keras.saving.save_weights(model, tmp / WEIGHTS,
                                  objects_to_skip=[optimizer] if optimizer is not None else None)
        (tmp / CARD).write_text(model_card(meta))
        meta["files"] = {name: sha256(tmp / name) for name in (CONFIG, WEIGHTS, CARD)}
        (tmp / METADATA).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return directory


def update_metadata(directory: str | os.PathLike, **fields: Any) -> dict[str, Any]:
    """Change metadata fields (e.g. metrics after evaluation) and regenerate the model card,
    atomically, keeping config.json and the weights byte for byte."""
    import shutil

    directory = Path(directory)
    meta = read_metadata(directory)
    verify_preset(directory, meta)
    meta.update(fields)
    with atomic_directory(directory) as tmp:
        for name in (CONFIG, WEIGHTS):
            shutil.copy2(directory / name, tmp / name)
        (tmp / CARD).write_text(model_card(meta))
        meta["files"] = {name: sha256(tmp / name) for name in (CONFIG, WEIGHTS, CARD)}
        (tmp / METADATA).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return meta


def verify_preset(directory: Path, meta: dict[str, Any]) -> None:
    """Every preset file must be listed with its sha256 and match it: a metadata.json whose
    file list was emptied cannot switch the checks off."""
    files = meta.get("files")
    expected = {CONFIG, WEIGHTS, CARD}
    if not isinstance(files, dict) or set(files) != expected:
        raise IntegrityError(
            f"{directory / METADATA} must list the sha256 of {sorted(expected)}; it lists "
            f"{sorted(files) if isinstance(files, dict) else files!r}."
        )
    verify_files(directory, files)


def read_metadata(directory: str | os.PathLike) -> dict[str, Any]:
    """metadata.json of a preset folder, checked to be one this kerasae can read."""
    path = Path(directory) / METADATA
    if not path.is_file():
        raise IntegrityError(
            f"{Path(directory)} is not a kerasae preset: it has no {METADATA}. A preset folder "
            f"holds {', '.join(PRESET_FILES)}."
        )
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise IntegrityError(f"{path} is not valid JSON ({error}); the file is corrupt.") from None
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} has preset format {version!r} written by kerasae "
            f"{meta.get('kerasae_version', '?')}; this kerasae reads format <= {FORMAT_VERSION}. "
            "Upgrade kerasae (pip install -U kerasae) to load it."
        )
    return meta


def load_preset(directory: str | os.PathLike, compile: bool = True) -> keras.Model:
    """Load a preset folder on the current backend, after checking every file's sha256.

    The model comes back compiled with a fresh Adam optimiser (presets carry no optimiser
    state, so a preset saved on one backend trains on any other).
    """
    directory = Path(directory)
    meta = read_metadata(directory)
    verify_preset(directory, meta)
    try:
        config = json.loads((directory / CONFIG).read_text())
        config.pop("compile_config", None)  # compiled below, on this backend, if asked
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as error:
        raise IntegrityError(
            f"{directory / CONFIG} could not be turned into a model ({type(error).__name__}: "
            f"{error}). Was it written by kerasae.save_preset?"
        ) from error
    try:
        model.load_weights(directory / WEIGHTS)
    except Exception as error:
        raise IntegrityError(
            f"{directory / WEIGHTS} could not be loaded into the {meta.get('variant')} model "
            f"({type(error).__name__}: {error})."
        ) from error
    model.preset_metadata = meta
    if compile:
        model.compile(optimizer="adam")
    return model


def _base_metadata(model: keras.Model, name: str) -> dict[str, Any]:
    options = dict(getattr(model, "options", {}) or {})
    spec: dict[str, Any] = {"shape": list(getattr(model, "data_shape", ())), "dtype": "float32"}
    if getattr(model, "_needs_unit_range", lambda: False)():
        spec["range"] = [0.0, 1.0]
    if getattr(model, "conditional", False):
        spec["condition"] = {"dtype": "int32", "num_classes": model.num_classes}
    return {
        "name": name,
        "variant": getattr(model, "variant", None),
        "options": options,
        "input_spec": spec,
        "latent_dim": getattr(model, "latent_dim", None),
        "backend": keras.backend.backend(),
        "metrics": {},
    }


def _lineage_entry(parent: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": parent.get("name"),
        "weights_sha256": parent.get("files", {}).get(WEIGHTS),
        "dataset": parent.get("dataset"),
    }
