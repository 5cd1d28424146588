"""The zoo's registry: each preset name -> its Hub repository, the revision to download and the
sha256 of each of its files (four, and sampler.npz for a preset that ships a fitted sampler).

The data lives in `zoo.json` beside this module, written by `python scripts/publish.py
--sync-registry` (file hashes, from weights/*/metadata.json) and `scripts/publish.py --org ORG`
(repository and revision, once published); never by hand. A preset whose `revision` is None has
not been published yet: it loads only from the bundled copy.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerasae._atomic import atomic_file
from kerasae._checks import file_sha256
from kerasae.hub._meta import (
    METADATA,
    OPTIONAL_FILES,
    PRESET_FILES,
    check_file_list,
    read_metadata,
    verify_preset,
)

REGISTRY = Path(__file__).resolve().with_name("zoo.json")
REGISTRY_FORMAT = 1


@dataclass(frozen=True)
class Preset:
    """One zoo entry. `files`: sha256 of config.json, model.weights.h5, README.md,
    metadata.json and, when the preset has one, sampler.npz (metadata.json pins the others,
    whose hashes it records)."""

    name: str
    files: Mapping[str, str]
    repo_id: str | None = None
    revision: str | None = None  # a commit hash once published; None: not published yet
    tag: str | None = None  # the release tag that points at `revision`
    size: int = 0  # bytes of the files together
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys this kerasae does not know

    @property
    def file_names(self) -> tuple[str, ...]:
        """The preset's files: the four of every preset, then its optional ones."""
        return (*PRESET_FILES, *(name for name in OPTIONAL_FILES if name in self.files))

    def check_files(self) -> None:
        """Refuse an entry that does not list the four files (plus only known optional ones)."""
        check_file_list(dict(self.files), PRESET_FILES, f"the registry entry of {self.name!r}")

    @property
    def published(self) -> bool:
        return self.repo_id is not None and self.revision is not None

    def to_json(self) -> dict[str, Any]:
        entry = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                 if f.name not in ("name", "extra")}
        entry["files"] = dict(sorted(self.files.items()))
        return {**entry, **self.extra}


def presets() -> dict[str, Preset]:
    """The registry shipped with this kerasae (read once per process)."""
    return dict(_read(REGISTRY))


@functools.lru_cache(maxsize=4)
def _read(path: Path) -> tuple[tuple[str, Preset], ...]:
    return tuple(read_registry(path).items())


def read_registry(path: str | os.PathLike) -> dict[str, Preset]:
    """A registry file -> {name: Preset}; unknown keys are kept in `extra` (forward compatible)."""
    path = Path(path)
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    if data.get("format") != REGISTRY_FORMAT:
        raise ValueError(f"{path} has registry format {data.get('format')!r}; this kerasae reads "
                         f"format {REGISTRY_FORMAT}. Upgrade kerasae.")
    known = {f.name for f in dataclasses.fields(Preset)} - {"name", "extra"}
    return {
        name: Preset(name=name, **{k: v for k, v in entry.items() if k in known},
                     extra={k: v for k, v in entry.items() if k not in known})
        for name, entry in data["presets"].items()
    }


def write_registry(path: str | os.PathLike, entries: Mapping[str, Preset]) -> None:
    """Write the registry sorted by name, so a regenerated file differs only where data did."""
    path = Path(path)
    data = {"format": REGISTRY_FORMAT,
            "presets": {name: entries[name].to_json() for name in sorted(entries)}}
    with atomic_file(path) as stream:
        stream.write((json.dumps(data, indent=2) + "\n").encode())
    _read.cache_clear()


def local_entry(folder: Path) -> Preset:
    """The registry entry a bundled preset folder calls for: hashes from its metadata.json,
    each checked against the file on disk (a stale metadata.json is refused, not recorded)."""
    meta = read_metadata(folder)
    verify_preset(folder, meta)
    files = {**meta["files"], METADATA: file_sha256(folder / METADATA)}
    size = sum((folder / name).stat().st_size for name in files)
    return Preset(name=folder.name, files=files, size=size)


def synced(weights_root: Path, current: Mapping[str, Preset]) -> dict[str, Preset]:
    """The registry for the presets in `weights_root`: fresh hashes, and the repository and
    revision kept where the files did not change (a changed preset must be published again)."""
    entries = {}
    for folder in sorted(p for p in weights_root.iterdir() if (p / METADATA).is_file()):
        fresh = local_entry(folder)
        old = current.get(folder.name)
        if old is not None and dict(old.files) == dict(fresh.files):
            fresh = dataclasses.replace(old, size=fresh.size)
        elif old is not None:
            fresh = dataclasses.replace(fresh, repo_id=old.repo_id, extra=old.extra)
        entries[folder.name] = fresh
    return entries
