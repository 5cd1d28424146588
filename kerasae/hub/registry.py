"""Where presets live: the bundled `weights/` folder (in a checkout or inside the wheel)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kerasae._checks import closest
from kerasae.hub.preset import METADATA, read_metadata


def bundled_root() -> Path | None:
    """`kerasae/weights/` inside an installed wheel, else `weights/` beside the package."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "weights", package.parent / "weights"):
        if candidate.is_dir():
            return candidate
    return None


def list_models() -> list[str]:
    """Names of the bundled pretrained presets."""
    root = bundled_root()
    if root is None:
        return []
    return sorted(p.name for p in root.iterdir() if (p / METADATA).is_file())


def model_info(name: str) -> dict[str, Any]:
    """A bundled preset's metadata: variant, dataset, metrics, input spec, licence, files."""
    return read_metadata(bundled_path(name))


def bundled_path(name: str) -> Path:
    names = list_models()
    if name not in names:
        raise ValueError(
            f"unknown preset {name!r}.{closest(name, names)} Bundled presets: {names or 'none'}. "
            "A local preset folder or 'hf://org/repo[@revision]' also works."
        )
    return bundled_root() / name


def resolve(handle: str | os.PathLike) -> Path:
    """A preset handle -> a local preset folder: a bundled name, a folder, or hf://org/repo."""
    if not isinstance(handle, (str, os.PathLike)):
        raise ValueError(
            "a preset handle is a preset name, a folder path or 'hf://org/repo[@revision]'; "
            f"got {type(handle).__name__}."
        )
    text = os.fspath(handle)
    if text.startswith("hf://"):
        from kerasae.hub.remote import download

        return download(text)
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if os.sep in text or text.startswith("."):
        raise ValueError(f"no preset folder at {path}; expected a folder with {METADATA}.")
    return bundled_path(text)
