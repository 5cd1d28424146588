"""What a preset folder holds and how its metadata.json is read and checked, without Keras.

The command line's `list` and `info` answer from here (and from kerasae.hub.registry, which finds
the bundled presets) without starting a backend, and the hub (save, load, registry, zoo) uses
the same constants, reader and file checks, so a preset is judged the same way everywhere.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kerasae._checks import IntegrityError, verify_sha256
from kerasae._version import __version__

FORMAT_VERSION = 1
CONFIG, WEIGHTS, CARD, METADATA = "config.json", "model.weights.h5", "README.md", "metadata.json"
PRESET_FILES = (CONFIG, WEIGHTS, CARD, METADATA)
# The files metadata.json lists with their sha256 (it cannot list its own).
HASHED_FILES = (CONFIG, WEIGHTS, CARD)
SAMPLER = "sampler.npz"
OPTIONAL_FILES = (SAMPLER,)  # listed in metadata "files" (with its sha256) when present
# The model card's pictures (scripts/card_pictures.py): listed in metadata "pictures" with
# their caption and sha256, not in "files", since loading the model never needs them (a
# download skips them, and a folder without them loads).
PICTURES = ("samples_prior.png", "samples_gmm.png", "reconstructions.png", "traversals.png")
PRESET_HINT = ("Nothing was changed on disk; fetch the preset again (for hf:// handles: "
               "huggingface_hub's force_download=True).")


def preset_names(root: Path | None) -> list[str]:
    """The preset folders in `root` (those holding a metadata.json), sorted."""
    if root is None:
        return []
    return sorted(p.name for p in root.iterdir() if (p / METADATA).is_file())


def check_file_list(files: Any, required: Iterable[str], where: str) -> dict[str, str]:
    """`files` ({name: sha256}) when it lists every one of `required` and no file a preset never
    holds: an emptied list must not switch the hash checks off."""
    required = set(required)
    if not isinstance(files, dict) or not required <= set(files) <= required | set(
            OPTIONAL_FILES):
        listed = sorted(files) if isinstance(files, dict) else repr(files)
        raise IntegrityError(
            f"{where} must list the sha256 of {sorted(required)} (and of "
            f"{', '.join(OPTIONAL_FILES)} when present); it lists {listed}."
        )
    return files


def verify_files(directory: Path, expected: dict[str, str]) -> None:
    """Check every listed file against its sha256; name the first bad file."""
    for name, digest in expected.items():
        verify_sha256(directory / name, digest, what=f"preset file {directory / name}",
                      hint=PRESET_HINT)


def verify_preset(directory: Path, meta: dict[str, Any]) -> None:
    """Every preset file must be listed with its sha256 and match it, and no unlisted optional
    file may lie beside them; the card's pictures that are present must match theirs."""
    files = check_file_list(meta.get("files"), HASHED_FILES, str(directory / METADATA))
    for name in OPTIONAL_FILES:
        if name not in files and ((directory / name).exists() or (directory / name).is_symlink()):
            raise IntegrityError(
                f"{directory / name} is not listed in {directory / METADATA} with a sha256, so "
                "it cannot be trusted; remove it or save the preset again."
            )
    verify_files(directory, files)
    verify_files(directory, {name: entry["sha256"] for name, entry in
                             (meta.get("pictures") or {}).items() if (directory / name).exists()})


def read_metadata(directory: str | os.PathLike) -> dict[str, Any]:
    """metadata.json of a preset folder, checked whole: a JSON object, a format and a kerasae
    version this kerasae reads, and the main fields of the right types."""
    path = Path(directory) / METADATA
    if not path.is_file():
        raise IntegrityError(
            f"{Path(directory)} is not a kerasae preset: it has no {METADATA}. A preset folder "
            f"holds {', '.join(PRESET_FILES)}."
        )
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise IntegrityError(f"{path} is not valid JSON ({error}); the file is corrupt.") from None
    check_metadata(meta, str(path), IntegrityError)
    return meta


# Main metadata fields and the types they must have when present (None: may be null).
FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,), "variant": (str, type(None)), "backend": (str,), "keras_version": (str,),
    "kerasae_version": (str,), "files": (dict,), "metrics": (dict,), "options": (dict,),
    "input_spec": (dict,), "dataset": (dict, type(None)), "training": (dict, type(None)),
    "tags": (list,), "lineage": (list,), "latent_dim": (int, type(None)),
    "description": (str,), "notes": (str,), "licence": (str,), "licence_id": (str,),
    "pictures": (dict,),
}


def check_metadata(meta: Any, where: str, error: type[ValueError]) -> None:
    """Raise `error` (IntegrityError for a file, ValueError for an argument) naming `where` if
    `meta` is not preset metadata this kerasae can use; a newer format or kerasae version asks
    to upgrade (ValueError)."""
    if not isinstance(meta, dict):
        raise error(f"{where} must hold a JSON object of metadata fields; it holds "
                    f"{type(meta).__name__} {json.dumps(meta)[:80]}.")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise error(f"{where}: format_version must be an integer >= 1; got {version!r}.")
    writer = meta.get("kerasae_version")
    if version > FORMAT_VERSION or _newer(writer, __version__):
        raise ValueError(
            f"{where} has preset format {version!r} written by kerasae {writer or '?'}; this "
            f"is kerasae {__version__}, which reads format <= {FORMAT_VERSION}. "
            "Upgrade kerasae (pip install -U kerasae) to load it."
        )
    for field, types in FIELD_TYPES.items():
        value = meta.get(field)
        if field in meta and (not isinstance(value, types) or isinstance(value, bool)):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise error(f"{where}: field {field!r} must be {names}; got {value!r:.80}.")
    if isinstance(writer, str) and _version_pair(writer) is None:
        raise error(f"{where}: kerasae_version must look like '1.2.3'; got {writer!r:.80}.")
    for field, value_type in (("metrics", dict), ("files", str), ("pictures", dict)):
        for key, value in (meta.get(field) or {}).items():
            if not isinstance(value, value_type):
                raise error(f"{where}: {field}[{key!r}] must be a {value_type.__name__}; got "
                            f"{value!r:.80}.")
    for name, entry in (meta.get("pictures") or {}).items():
        if name not in PICTURES or set(entry) != {"caption", "sha256"} or not all(
                isinstance(v, str) for v in entry.values()):
            raise error(f"{where}: pictures maps a file name of {PICTURES} to its caption and "
                        f"sha256 ({{'caption': str, 'sha256': str}}); got {name!r}: "
                        f"{entry!r:.80}.")
    if not all(isinstance(tag, str) for tag in meta.get("tags", [])):
        raise error(f"{where}: tags must be a list of strings; got {meta['tags']!r:.80}.")


def _version_pair(version: Any) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", version) if isinstance(version, str) else None
    return (int(match[1]), int(match[2])) if match else None


def _newer(writer: Any, reader: str) -> bool:
    """True when `writer` has a newer major.minor than `reader` (patch releases read alike)."""
    pair, own = _version_pair(writer), _version_pair(reader)
    return pair is not None and own is not None and pair > own
