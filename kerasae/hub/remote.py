"""The Hugging Face Hub through the real huggingface_hub client: download (cache, offline,
revisions) and publish. Tokens come only from the environment (HF_TOKEN) or the user's login."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import keras

from kerasae.hub.preset import PRESET_FILES, read_metadata, save_preset, verify_preset

_HANDLE = re.compile(r"^hf://(?P<repo>[\w.\-]+/[\w.\-]+)(@(?P<revision>[\w.\-/]+))?$")


def parse_handle(handle: str) -> tuple[str, str | None]:
    """'hf://org/repo[@revision]' -> (repo_id, revision or None)."""
    match = _HANDLE.match(handle)
    if not match:
        raise ValueError(
            f"a Hub handle looks like 'hf://org/repo' or 'hf://org/repo@revision'; got {handle!r}."
        )
    return match["repo"], match["revision"]


def download(handle: str) -> Path:
    """Fetch a preset into huggingface_hub's cache (or find it there) and return its folder."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    import kerasae

    repo_id, revision = parse_handle(handle)
    try:
        folder = snapshot_download(
            repo_id,
            revision=revision,
            allow_patterns=list(PRESET_FILES),
            library_name="kerasae",
            library_version=kerasae.__version__,
        )
    except LocalEntryNotFoundError:
        raise ConnectionError(
            f"{handle} is not in the local Hugging Face cache and cannot be downloaded now "
            "(offline: HF_HUB_OFFLINE is set or the Hub is unreachable). Fetch it once while "
            f"online (kerasae.load({handle!r}) or `hf download {repo_id}`), or point "
            "HF_HUB_CACHE at a cache that holds it."
        ) from None
    except RevisionNotFoundError:
        raise ValueError(f"{repo_id} has no revision {revision!r} on the Hub.") from None
    except RepositoryNotFoundError:
        raise ValueError(
            f"no Hub repository {repo_id!r} (or it is private: set HF_TOKEN to a token that can "
            "read it)."
        ) from None
    return Path(folder)


def push(
    source: str | os.PathLike | keras.Model,
    handle: str,
    *,
    private: bool = False,
    commit_message: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Any:
    """Upload a preset folder (or a model, saved as a preset first) to hf://org/repo[@branch].

    Creates the repository if needed. The token is read by huggingface_hub from HF_TOKEN or
    the user's login; kerasae never takes or stores one. Returns huggingface_hub's CommitInfo.
    """
    from huggingface_hub import HfApi

    repo_id, revision = parse_handle(handle)
    with tempfile.TemporaryDirectory() as scratch:
        if isinstance(source, keras.Model):
            folder = save_preset(source, Path(scratch) / repo_id.split("/")[1], metadata)
        else:
            folder = Path(source)
            if metadata is not None:
                raise ValueError("metadata= applies when pushing a model, not a preset folder.")
        meta = read_metadata(folder)  # refuse to publish a broken preset
        verify_preset(folder, meta)
        api = HfApi()
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        if revision is not None:  # the Hub refuses uploads to a branch that does not exist yet
            api.create_branch(repo_id, branch=revision, repo_type="model", exist_ok=True)
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            repo_type="model",
            revision=revision,
            allow_patterns=list(PRESET_FILES),
            commit_message=commit_message or f"Upload {meta.get('name', repo_id)} with kerasae",
        )
