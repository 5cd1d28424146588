"""A Hugging Face Hub cache laid out by the tests exactly as huggingface_hub writes one, so the
download path runs offline (HF_HUB_OFFLINE=1) against real cache semantics."""

from __future__ import annotations

import hashlib
from pathlib import Path

from kerasae.hub.preset import PRESET_FILES, WEIGHTS


def git_blob_sha1(data: bytes) -> str:
    """The name huggingface_hub gives a regular (non-LFS) file's blob: its git object id."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def add_snapshot(cache: Path, repo_id: str, commit: str, preset: Path,
                 files: tuple[str, ...] = PRESET_FILES, main: str | None = None) -> Path:
    """Put `files` of a preset folder into `cache` as the snapshot of `repo_id` at `commit`:
    blobs named by their etag (sha256 for LFS files, the git blob id for the others),
    refs/main holding `main` (default: `commit`, no newline), snapshots/<commit>/<file> as
    relative symlinks into blobs/. Returns the snapshot folder."""
    storage = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = storage / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (storage / "blobs").mkdir(exist_ok=True)
    (storage / "refs").mkdir(exist_ok=True)
    (storage / "refs" / "main").write_text(main or commit)
    for name in files:
        data = (preset / name).read_bytes()
        blob = hashlib.sha256(data).hexdigest() if name == WEIGHTS else git_blob_sha1(data)
        (storage / "blobs" / blob).write_bytes(data)
        (snapshot / name).symlink_to(Path("..", "..", "blobs", blob))
    return snapshot
