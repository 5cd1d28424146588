"""The Hugging Face Hub through the real huggingface_hub client: download (cache, offline,
revisions) and publish. Tokens come only from the environment (HF_TOKEN) or the user's login."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import keras

from kerasae._checks import IntegrityError
from kerasae._version import __version__
from kerasae.hub._meta import (
    OPTIONAL_FILES,
    PICTURES,
    PRESET_FILES,
    read_metadata,
    verify_files,
    verify_preset,
)
from kerasae.hub.preset import save_preset
from kerasae.hub.zoo import Preset

_HANDLE = re.compile(r"^hf://(?P<repo>[\w.\-]+/[\w.\-]+)(@(?P<revision>[\w.\-/]+))?$")


def parse_handle(handle: str) -> tuple[str, str | None]:
    """'hf://org/repo[@revision]' -> (repo_id, revision or None)."""
    match = _HANDLE.match(handle)
    if not match:
        raise ValueError(
            f"a Hub handle looks like 'hf://org/repo' or 'hf://org/repo@revision'; got {handle!r}."
        )
    return match["repo"], match["revision"]


class HubUnavailableError(ValueError, ConnectionError):
    """A preset is neither bundled nor in the Hugging Face cache, and cannot be downloaded now
    (offline, or the Hub unreachable). Both a ValueError and a ConnectionError."""


def download(handle: str) -> Path:
    """Fetch a preset into huggingface_hub's cache (or find it there) and return its folder."""
    repo_id, revision = parse_handle(handle)
    return _snapshot(repo_id, revision, handle)


def download_preset(preset: Preset, files: tuple[str, ...] | None = None) -> Path:
    """A zoo preset that is not bundled: its registry revision from huggingface_hub's cache,
    downloaded on first use, every file checked against the registry's sha256. `files`: fewer
    than all (metadata.json alone for `model_info`) fetches only those; None: all of them."""
    if preset.repo_id is None or preset.revision is None:
        raise ValueError(
            f"preset {preset.name!r} is not bundled with this installation and has not been "
            "published to the Hugging Face Hub yet (its registry entry has no revision). "
            "Install the full kerasae wheel, which bundles the presets."
        )
    handle = f"hf://{preset.repo_id}@{preset.revision}"
    preset.check_files()
    files = preset.file_names if files is None else files
    folder = _snapshot(preset.repo_id, preset.revision, handle, name=preset.name, files=files)
    try:
        verify_files(folder, {name: preset.files[name] for name in files})
    except IntegrityError as error:
        raise IntegrityError(
            f"{handle} (preset {preset.name!r}) does not match kerasae's registry: {error}"
        ) from None
    return folder


def _snapshot(repo_id: str, revision: str | None, handle: str, name: str | None = None,
              files: tuple[str, ...] = (*PRESET_FILES, *OPTIONAL_FILES)) -> Path:
    """The cached snapshot folder holding `files` of repo_id@revision (huggingface_hub's
    errors turned into one message saying what to do)."""
    from huggingface_hub import constants, hf_hub_download, snapshot_download
    from huggingface_hub.errors import (
        LocalEntryNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    version = __version__
    try:
        if len(files) == 1:
            folder = Path(hf_hub_download(repo_id, files[0], revision=revision,
                                          library_name="kerasae", library_version=version)).parent
        else:
            folder = Path(snapshot_download(repo_id, revision=revision, allow_patterns=list(files),
                                            library_name="kerasae", library_version=version))
    except RemoteEntryNotFoundError:
        raise IntegrityError(f"{handle} has no {files[0]}: it is not a kerasae preset.") from None
    except LocalEntryNotFoundError:
        at = f"revision {revision}" if revision else "the main branch"
        what = (f"preset {name!r} is not bundled with this installation, and {at} of {repo_id}"
                if name else f"{handle} ({at} of {repo_id})")
        fetch = f"hf download {repo_id}" + (f" --revision {revision}" if revision else "")
        raise HubUnavailableError(
            f"{what} is not in the local Hugging Face cache ({constants.HF_HUB_CACHE}) and cannot "
            "be downloaded now (offline: HF_HUB_OFFLINE is set or the Hub is unreachable). Set "
            f"HF_HUB_OFFLINE=0 and load it once while online, pre-download it with `{fetch}`, "
            "or point HF_HUB_CACHE at a cache that holds it"
            + (", or install the full kerasae wheel, which bundles the presets." if name else ".")
        ) from None
    except RevisionNotFoundError:
        raise ValueError(
            f"{repo_id} has no revision {revision!r} on the Hub"
            + (f" (kerasae's registry names it for preset {name!r}: upgrade kerasae)." if name
               else ".")
        ) from None
    except RepositoryNotFoundError:
        raise ValueError(
            f"no Hub repository {repo_id!r} (or it is private: set HF_TOKEN to a token that can "
            "read it)."
        ) from None
    return folder


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
        pictures = [name for name in meta.get("pictures") or {} if (folder / name).is_file()]
        api = HfApi()
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        if revision is not None:  # the Hub refuses uploads to a branch that does not exist yet
            api.create_branch(repo_id, branch=revision, repo_type="model", exist_ok=True)
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            repo_type="model",
            revision=revision,
            allow_patterns=[*PRESET_FILES, *(f for f in OPTIONAL_FILES if f in meta["files"]),
                            *pictures],
            # an optional file or picture the preset no longer has must not linger there
            delete_patterns=[f for f in (*OPTIONAL_FILES, *PICTURES)
                             if f not in meta["files"] and f not in pictures],
            commit_message=commit_message or f"Upload {meta.get('name', repo_id)} with kerasae",
        )
