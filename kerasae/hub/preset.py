"""The preset folder: config.json, model.weights.h5, README.md (model card), metadata.json,
sampler.npz when the model has a fitted code sampler (kerasae.samplers), and the card's
pictures (PNG files named in PICTURES) when they were drawn.

The same folder is bundled in `weights/`, shipped inside the wheel and uploaded to the Hub.
Loading never unpickles: the config is JSON deserialised with Keras' safe_mode on and the
weights are plain HDF5 arrays, the sampler a .npz of plain arrays read with allow_pickle=False,
each file checked against its sha256 first.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras

from kerasae._version import __version__
from kerasae.hub._meta import (  # noqa: F401 (the preset layout, also imported from here)
    CARD,
    CONFIG,
    FORMAT_VERSION,
    HASHED_FILES,
    METADATA,
    OPTIONAL_FILES,
    PICTURES,
    PRESET_FILES,
    SAMPLER,
    WEIGHTS,
    check_metadata,
    read_metadata,
    verify_preset,
)
from kerasae.hub.card import licence_fields, model_card
from kerasae.hub.integrity import (
    IntegrityError,
    atomic_directory,
    check_target,
    nonfinite_weights,
    sha256,
)
from kerasae.protocols import Conditioned
from kerasae.variants import upgrade

_KEEP = object()
DATE_FORMAT = "%Y-%m-%d@%H:%M:%S"  # KerasHub's `date_saved`, UTC
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def save_preset(model: keras.Model, directory: str | os.PathLike,
                metadata: dict[str, Any] | None = None, overwrite: bool = False) -> Path:
    """Write `model` as a preset folder, atomically (a crash leaves the old folder or the new
    one, never half of one and never nothing on Linux).

    `metadata` adds or overrides fields: dataset (a dict, or its name as a string), split,
    preprocessing, training (command, seed, ...), metrics ({name: {"value", "split",
    "description"}}), licence, tags. Versions, the input spec, the parameter count, the date
    (UTC), lineage (when `model` came from a preset) and file hashes are filled in. An
    existing folder is replaced only when it is a kerasae preset (or empty), or with
    `overwrite=True`; a file at `directory` is refused.
    Weights holding NaN or infinity are refused: nothing is written.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a Keras model (from kerasae.build or kerasae.load); "
                         f"got {type(model).__name__}.")
    directory = check_target(directory, is_preset, overwrite, "preset")
    metadata = _user_metadata(metadata)
    bad = nonfinite_weights(model)
    if bad:
        raise ValueError(
            f"the model's weights hold NaN or infinity ({', '.join(bad[:5])}"
            f"{', ...' if len(bad) > 5 else ''}); a preset is never saved with them and nothing "
            f"was written to {directory}. Training diverged: check the data for NaN/inf, lower "
            "the learning rate, or save an earlier checkpoint."
        )
    meta = _base_metadata(model, directory.name)
    meta.update(metadata)
    parent = getattr(model, "preset_metadata", None)
    if parent and "lineage" not in metadata:
        meta["lineage"] = [*parent.get("lineage", []), _lineage_entry(parent)]
    meta.update(format_version=FORMAT_VERSION, kerasae_version=__version__,
                keras_version=keras.__version__)
    check_metadata(meta, "the metadata argument", ValueError)
    config = config_text(model)
    optimizer = getattr(model, "optimizer", None)
    sampler = getattr(model, "code_sampler", None)
    with atomic_directory(directory, is_preset, overwrite, "preset") as tmp:
        (tmp / CONFIG).write_text(config)
        keras.saving.save_weights(model, tmp / WEIGHTS,
                                  objects_to_skip=[optimizer] if optimizer is not None else None)
        _write_card_and_metadata(tmp, meta, sampler)
    return directory


def config_text(model: keras.Model) -> str:
    """config.json of `model`: its Keras serialisation (for a model made by kerasae.build,
    the variant and its options; else the whole graph), without training state: Keras adds the
    compile config (the optimiser's class, which on torch is a torch-only module) when the
    model is compiled."""
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    return json.dumps(config, indent=1) + "\n"


def _write_card_and_metadata(tmp: Path, meta: dict[str, Any], sampler: Any) -> None:
    """sampler.npz (when there is a sampler), the card (showing the pictures already in `tmp`,
    whose captions `meta["pictures"]` holds by name), then metadata.json listing the sha256 of
    every other file, and of each picture beside its caption."""
    names = list(HASHED_FILES)
    if sampler is not None:
        (tmp / SAMPLER).write_bytes(sampler.to_bytes())
        names.append(SAMPLER)
        meta["sampler"] = {"kind": sampler.kind, "n_components": sampler.n_components}
    else:
        meta.pop("sampler", None)
    captions = meta.pop("pictures", None) or {}
    shown = {name: {"caption": captions[name], "sha256": sha256(tmp / name)}
             for name in PICTURES if name in captions and (tmp / name).is_file()}
    if shown:
        meta["pictures"] = shown
    (tmp / CARD).write_text(model_card(meta))
    meta["files"] = {name: sha256(tmp / name) for name in names}
    (tmp / METADATA).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def _user_metadata(metadata: Any) -> dict[str, Any]:
    """The caller's metadata as a new dict; a dataset given as a string is its name."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a dict of fields; got {type(metadata).__name__} "
                         f"{metadata!r:.80}.")
    metadata = dict(metadata)
    if isinstance(metadata.get("dataset"), str):
        metadata["dataset"] = {"name": metadata["dataset"]}
    return metadata


def is_preset(folder: Path) -> bool:
    """True when `folder` holds a kerasae preset (its metadata.json is kerasae's and nothing
    else is there): only such a folder is replaced without overwrite=True."""
    try:
        meta = json.loads((folder / METADATA).read_text())
    except (OSError, ValueError, RecursionError):
        return False
    if not (isinstance(meta, dict) and "format_version" in meta
            and isinstance(meta.get("files"), dict)):
        return False
    known = {METADATA, *PRESET_FILES, *map(str, meta["files"]),
             *map(str, meta.get("pictures") or {})}
    return all(entry.name in known for entry in folder.iterdir())


def update_metadata(directory: str | os.PathLike, **fields: Any) -> dict[str, Any]:
    """Change metadata fields (e.g. metrics after evaluation) and regenerate the model card,
    atomically, keeping config.json, the weights and the sampler byte for byte."""
    return _rewrite(directory, fields, _KEEP)


def set_preset_sampler(directory: str | os.PathLike, sampler: Any,
                       **fields: Any) -> dict[str, Any]:
    """Add (or replace, or with None remove) a preset's sampler.npz and change metadata
    `fields`, atomically, keeping config.json and the weights byte for byte."""
    if sampler is not None and not callable(getattr(sampler, "to_bytes", None)):
        raise ValueError(f"sampler must be a kerasae.samplers.GaussianMixtureSampler or None; "
                         f"got {type(sampler).__name__}.")
    directory = Path(directory)
    latent_dim = read_metadata(directory).get("latent_dim")
    if sampler is not None and latent_dim is not None and sampler.latent_dim != latent_dim:
        raise ValueError(f"the sampler draws {sampler.latent_dim}-dim codes; {directory} has "
                         f"latent_dim {latent_dim}.")
    return _rewrite(directory, fields, sampler)


def set_preset_pictures(directory: str | os.PathLike,
                        pictures: Mapping[str, tuple[str | os.PathLike, str]] | None
                        ) -> dict[str, Any]:
    """Replace the model card's pictures, atomically, keeping config.json, the weights and the
    sampler byte for byte: `pictures` maps a file name of PICTURES to (a PNG file, its
    caption); None removes them. The card shows them in that order under their captions;
    metadata.json records each caption and sha256. Loading the model never needs them."""
    chosen: dict[str, tuple[Path, str]] = {}
    for name, entry in (pictures or {}).items():
        if name not in PICTURES:
            raise ValueError(f"a card picture is named one of {PICTURES}; got {name!r}.")
        if not (isinstance(entry, tuple) and len(entry) == 2
                and isinstance(entry[0], (str, os.PathLike))
                and isinstance(entry[1], str) and entry[1].strip()):
            raise ValueError(f"pictures[{name!r}] must be (path of a PNG file, caption); got "
                             f"{entry!r:.120}.")
        source = Path(entry[0])
        with open(source, "rb") as handle:  # a missing file raises FileNotFoundError naming it
            head = handle.read(len(PNG_SIGNATURE))
        if head != PNG_SIGNATURE:
            raise ValueError(f"pictures[{name!r}]: {source} is not a PNG file (it starts with "
                             f"{head!r}).")
        chosen[name] = (source, entry[1].strip())
    return _rewrite(directory, {}, _KEEP, chosen)


def _rewrite(directory: str | os.PathLike, fields: dict[str, Any], sampler: Any,
             pictures: Any = _KEEP) -> dict[str, Any]:
    """Rewrite the card and metadata with `fields` changed, keeping config.json and the
    weights; the sampler and the pictures are kept unless given (a new sampler drops the
    picture of the old one's samples)."""
    import shutil

    if "pictures" in fields:
        raise ValueError("pictures are changed by kerasae.hub.set_preset_pictures, which checks "
                         "and copies the files; not as a metadata field.")
    directory = Path(directory)
    meta = read_metadata(directory)
    verify_preset(directory, meta)
    if pictures is _KEEP:
        pictures = {name: (directory / name, entry["caption"])
                    for name, entry in (meta.get("pictures") or {}).items()
                    if (directory / name).is_file()}  # a deleted picture stays deleted
        if sampler is not _KEEP:
            pictures.pop("samples_gmm.png", None)  # drawn from the sampler being replaced
    if sampler is _KEEP:
        sampler = read_sampler(directory, meta)
    meta.update(_user_metadata(fields))
    check_metadata(meta, "the fields given", ValueError)
    meta["pictures"] = {name: caption for name, (_, caption) in pictures.items()}
    with atomic_directory(directory, is_preset, False, "preset") as tmp:
        for name in (CONFIG, WEIGHTS):
            shutil.copy2(directory / name, tmp / name)
        for name, (source, _) in pictures.items():
            shutil.copyfile(source, tmp / name)
        _write_card_and_metadata(tmp, meta, sampler)
    return meta


def read_sampler(directory: Path, meta: dict[str, Any]):
    """The preset's fitted code sampler (None when it has none), read without pickle; call
    after `verify_preset`."""
    if SAMPLER not in meta.get("files", {}):
        return None
    from kerasae.samplers import GaussianMixtureSampler

    try:
        return GaussianMixtureSampler.load(directory / SAMPLER)
    except ValueError as error:
        raise IntegrityError(str(error)) from None


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
    bad = nonfinite_weights(model)
    if bad:
        raise IntegrityError(
            f"{directory / WEIGHTS} holds NaN or infinity in {', '.join(bad[:5])}"
            f"{', ...' if len(bad) > 5 else ''}; kerasae never loads such weights (they came "
            "from a training run that diverged)."
        )
    # A preset of the first format holds the whole graph: move its weights into the model the
    # builder makes today, so builder fixes reach it and a re-save is in the current format.
    model = upgrade(model)
    sampler = read_sampler(directory, meta)
    if sampler is not None:  # only generative models are saved with one
        model.set_sampler(sampler)
    model.preset_metadata = meta
    if compile:
        model.compile(optimizer="adam")
    return model


def _base_metadata(model: keras.Model, name: str) -> dict[str, Any]:
    options = dict(getattr(model, "options", {}) or {})
    spec: dict[str, Any] = {"shape": list(getattr(model, "data_shape", ())), "dtype": "float32"}
    if getattr(model, "_needs_unit_range", lambda: False)():
        spec["range"] = [0.0, 1.0]
    if isinstance(model, Conditioned):
        spec["condition"] = {"dtype": "int32", "num_classes": model.num_classes}
    return {
        "name": name,
        "variant": getattr(model, "variant", None),
        "options": options,
        "input_spec": spec,
        "latent_dim": getattr(model, "latent_dim", None),
        "backend": keras.backend.backend(),
        "parameter_count": int(model.count_params()),
        "date_saved": datetime.datetime.now(datetime.timezone.utc).strftime(DATE_FORMAT),
        "metrics": {},
    }


def _lineage_entry(parent: dict[str, Any]) -> dict[str, Any]:
    """What a child preset records of its parent, the parent's licence among it (the child's
    card applies the most restrictive licence in its lineage)."""
    return {
        "name": parent.get("name"),
        "weights_sha256": (parent.get("files") or {}).get(WEIGHTS),
        "dataset": parent.get("dataset"),
        **licence_fields(parent),
    }
