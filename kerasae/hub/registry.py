"""Where presets live: the bundled `weights/` folder (in a checkout or inside the full wheel),
else the Hugging Face Hub at the revision kerasae's zoo registry pins (see `zoo.py`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

from kerasae._checks import closest
from kerasae.hub import zoo
from kerasae.hub._meta import (
    METADATA,
    OPTIONAL_FILES,
    PRESET_FILES,
    preset_names,
    read_metadata,
)

Status = Literal["bundled", "cached", "remote", "unpublished"]


@dataclass(frozen=True)
class PresetStatus:
    """Where a preset would load from now: 'bundled' (inside this installation), 'cached'
    (its pinned revision is in the Hugging Face cache), 'remote' (downloaded on first use) or
    'unpublished' (neither bundled nor on the Hub: install the full wheel)."""

    name: str
    status: Status
    repo_id: str | None
    revision: str | None
    size: int


def bundled_root() -> Path | None:
    """`kerasae/weights/` inside an installed wheel, else `weights/` of a source checkout.
    None in a slim install (no weights in the wheel)."""
    package = Path(__file__).resolve().parent.parent
    if (package / "weights").is_dir():
        return package / "weights"
    checkout = package.parent
    if (checkout / "weights").is_dir() and (checkout / "pyproject.toml").is_file():
        return checkout / "weights"
    return None


def bundled_names() -> list[str]:
    return preset_names(bundled_root())


@overload
def list_models(details: Literal[False] = False) -> list[str]: ...
@overload
def list_models(details: Literal[True]) -> list[PresetStatus]: ...
def list_models(details: bool = False) -> list[str] | list[PresetStatus]:
    """Names of the pretrained presets: bundled, and those the zoo registry knows (loaded from
    the Hub on first use). `details=True`: one `PresetStatus` per name instead."""
    names = sorted(set(bundled_names()) | set(zoo.presets()))
    return preset_status(names) if details else names


def preset_status(names: list[str] | None = None) -> list[PresetStatus]:
    """For each preset (all by default): bundled, cached, remote or unpublished."""
    root, bundled, entries = bundled_root(), set(bundled_names()), zoo.presets()
    records = []
    for name in names if names is not None else list_models():
        entry = entries.get(name)
        repo_id, revision = (entry.repo_id, entry.revision) if entry else (None, None)
        if name in bundled:
            status: Status = "bundled"
        elif entry is None or not entry.published:
            status = "unpublished"
        else:
            status = "cached" if _in_cache(entry) else "remote"
        size = entry.size if entry else 0
        if root is not None and name in bundled and not size:
            size = sum((root / name / f).stat().st_size for f in (*PRESET_FILES, *OPTIONAL_FILES)
                       if (root / name / f).is_file())
        records.append(PresetStatus(name, status, repo_id, revision, size))
    return records


def _in_cache(entry: zoo.Preset) -> bool:
    from huggingface_hub import try_to_load_from_cache

    if entry.repo_id is None:
        return False
    return all(
        isinstance(try_to_load_from_cache(entry.repo_id, name, revision=entry.revision), str)
        for name in entry.file_names
    )


def model_info(name: str) -> dict[str, Any]:
    """A preset's metadata: variant, dataset, metrics, input spec, licence, files. A preset
    that is not bundled is read from the Hub (cache first; metadata.json alone), like `load`."""
    return read_metadata(preset_path(_check_name(name), files=(METADATA,)))


def preset_path(name: str, files: tuple[str, ...] | None = None) -> Path:
    """A preset name -> its folder: the bundled copy when there is one, else the registry's
    revision from the Hugging Face cache (downloaded on first use, hashes checked; only
    `files` of it; None: all)."""
    root = bundled_root()
    if root is not None and name in bundled_names():
        return root / name
    entry = zoo.presets().get(name)
    if entry is None:
        names = list_models()
        raise ValueError(
            f"unknown preset {name!r}.{closest(name, names)} Known presets: {names or 'none'}. "
            "A local preset folder or 'hf://org/repo[@revision]' also works."
        )
    from kerasae.hub.remote import download_preset

    return download_preset(entry, files)


bundled_path = preset_path  # the name before presets could come from the Hub


def resolve(handle: str | os.PathLike) -> Path:
    """A preset handle -> a local preset folder.

    - 'hf://org/repo[@revision]': huggingface_hub's cache, downloaded on first use.
    - A path that is explicit (absolute, starting with '.' or '~', or holding a separator, or a
      `PathLike`): that folder.
    - A bare name: a preset of the zoo (bundled, else from the Hub) wins over a local folder of
      the same name; write './name' to load the folder. A bare name that is not a preset loads
      the local folder of that name if there is one.
    """
    if isinstance(handle, os.PathLike):
        return _folder(Path(handle).expanduser())
    text = _check_name(handle, what="a preset handle")
    if text.startswith("hf://"):
        from kerasae.hub.remote import download

        return download(text)
    if _explicit_path(text):
        return _folder(Path(text).expanduser())
    if text in bundled_names() or text in zoo.presets():
        return preset_path(text)
    if Path(text).is_dir():
        return Path(text)
    return preset_path(text)


def _check_name(handle: Any, what: str = "a preset name") -> str:
    """A non-empty str, or a ValueError (difflib and Path would fail on others, or "" would
    quietly mean the current directory)."""
    accepted = "a preset name (see kerasae.list_models())" + (
        ", a folder path or 'hf://org/repo[@revision]'" if what == "a preset handle" else "")
    if not isinstance(handle, str):
        raise ValueError(f"{what} must be {accepted}; got {type(handle).__name__} {handle!r}.")
    if not handle.strip():
        raise ValueError(
            f"{what} must be {accepted}; got an empty string (which would load the current "
            "directory: write '.' for that)."
        )
    return handle


def _explicit_path(text: str) -> bool:
    separators = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    return (os.path.isabs(text) or text.startswith((".", "~"))
            or any(s in text for s in separators))


def _folder(path: Path) -> Path:
    if not path.is_dir():
        raise ValueError(f"no preset folder at {path}; expected a folder with {METADATA}.")
    return path
