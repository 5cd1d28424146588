"""File hashes and atomic folder writes: a preset is either complete or absent, never half."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from kerasae._checks import file_sha256 as sha256


class IntegrityError(ValueError):
    """A preset file is missing, truncated or altered."""


def verify_files(directory: Path, expected: dict[str, str]) -> None:
    """Check every listed file against its sha256; name the first bad file."""
    for name, digest in expected.items():
        path = directory / name
        if not path.is_file():
            raise IntegrityError(f"preset file {path} is missing; the preset lists it in metadata.")
        actual = sha256(path)
        if actual != digest:
            raise IntegrityError(
                f"preset file {path} does not match its recorded sha256 (expected {digest}, got "
                f"{actual}): it is truncated or altered. Nothing was changed on disk; fetch the "
                "preset again (for hf:// handles: huggingface_hub's force_download=True)."
            )


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces `target` in one rename.

    If the body raises, the temporary folder is removed and `target` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        for child in tmp.rglob("*"):  # flush file contents before the rename makes them visible
            if child.is_file():
                with open(child, "rb") as file:
                    os.fsync(file.fileno())
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
