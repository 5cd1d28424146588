"""Publish the zoo to the Hugging Face Hub and keep kerasae's preset registry in step.

    python scripts/publish.py --sync-registry          # hashes from weights/*/metadata.json
    python scripts/publish.py --org ORG --dry-run      # what would be published, offline
    python scripts/publish.py --org ORG [NAMES...]     # publish every bundled preset (or NAMES)

Each preset goes to ORG/<preset> with its model card, gets the tag v<kerasae version>-<hash of
its files>, and the tagged commit is written into kerasae/hub/zoo.json, which `kerasae.load`
then downloads when the preset is not bundled. Idempotent: a preset whose files the Hub already
holds is not uploaded again. The token is huggingface_hub's own (HF_TOKEN or `hf auth login`);
this script never reads or prints it.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kerasae
from kerasae._checks import file_sha256
from kerasae.hub import zoo
from kerasae.hub.integrity import IntegrityError
from kerasae.hub.preset import read_metadata, verify_preset

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "weights"
REGISTRY = ROOT / "kerasae" / "hub" / "zoo.json"


def sync_registry(weights: Path = WEIGHTS, registry: Path = REGISTRY,
                  say: Callable[[str], None] = print) -> dict[str, zoo.Preset]:
    """Rewrite the registry's file hashes from the bundled presets; a preset whose files
    changed loses its published revision (publish it again)."""
    current = zoo.read_registry(registry)
    entries = zoo.synced(weights, current)
    for name in sorted(set(current) | set(entries)):
        old, new = current.get(name), entries.get(name)
        if new is None:
            say(f"{name}: removed (no longer in {weights})")
        elif old is None:
            say(f"{name}: added, not published yet")
        elif dict(old.files) != dict(new.files):
            say(f"{name}: files changed" + (", revision cleared: publish it again"
                                            if old.revision else ""))
        else:
            say(f"{name}: unchanged")
    zoo.write_registry(registry, entries)
    return entries


def release_tag(entry: zoo.Preset) -> str:
    digest = hashlib.sha256("".join(f"{k}={v}\n" for k, v in sorted(entry.files.items()))
                           .encode()).hexdigest()
    return f"v{kerasae.__version__}-{digest[:8]}"


def git_blob_id(path: Path) -> str:
    """The id git (and the Hub, for files not stored in LFS) gives a file's contents."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def checked(folder: Path, registry: dict[str, zoo.Preset]) -> zoo.Preset:
    """The preset's registry entry, after its files match its metadata and the registry."""
    verify_preset(folder, read_metadata(folder))
    local = zoo.local_entry(folder)
    entry = registry.get(folder.name)
    if entry is None or dict(entry.files) != dict(local.files):
        raise IntegrityError(
            f"{folder.name}: the registry's hashes are not those of {folder}; run "
            "`python scripts/publish.py --sync-registry` and commit kerasae/hub/zoo.json first."
        )
    return entry


def human(size: int) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"


class Publisher:
    """Publishes presets through an HfApi-like object (the real one, or a stand-in in tests)."""

    def __init__(self, api: Any, org: str, registry: Path = REGISTRY,
                 say: Callable[[str], None] = print, private: bool = False):
        self.api, self.org, self.registry, self.say, self.private = api, org, registry, say, private

    def remote_matches(self, repo_id: str, revision: str, folder: Path) -> tuple[str, bool]:
        """(commit of `revision`, whether it holds exactly the local preset files)."""
        info = self.api.model_info(repo_id, revision=revision, files_metadata=True)
        remote = {s.rfilename: s for s in info.siblings or []}
        same = True
        for name in zoo.local_entry(folder).file_names:
            sibling = remote.get(name)
            if sibling is None:
                same = False
            elif sibling.lfs is not None:
                same &= sibling.lfs.sha256 == file_sha256(folder / name)
            else:
                same &= sibling.blob_id == git_blob_id(folder / name)
        return info.sha, same

    def publish(self, folder: Path, entry: zoo.Preset) -> zoo.Preset:
        repo_id, tag = f"{self.org}/{entry.name}", release_tag(entry)
        if not self.api.repo_exists(repo_id, repo_type="model"):
            self.api.create_repo(repo_id, repo_type="model", private=self.private, exist_ok=True)
            self.say(f"{entry.name}: created {repo_id}")
        tags = {ref.name: ref.target_commit
                for ref in self.api.list_repo_refs(repo_id, repo_type="model").tags}
        if tag in tags:
            commit, same = self.remote_matches(repo_id, tags[tag], folder)
            if not same:
                raise IntegrityError(f"{repo_id}: tag {tag} exists but holds other files; "
                                     "delete the tag on the Hub or change the preset.")
            self.say(f"{entry.name}: unchanged, {repo_id}@{tag} = {commit}")
        else:
            commit, same = self.remote_matches(repo_id, "main", folder)
            if same:
                self.say(f"{entry.name}: files already on {repo_id} main = {commit}, not uploaded")
            else:
                info = self.api.upload_folder(
                    repo_id=repo_id, repo_type="model", folder_path=str(folder),
                    allow_patterns=list(entry.file_names),
                    commit_message=f"kerasae {kerasae.__version__}: {entry.name} ({tag})")
                commit = info.oid
                self.say(f"{entry.name}: uploaded {len(entry.file_names)} files "
                         f"({human(entry.size)}) to {repo_id} = {commit}")
            self.api.create_tag(repo_id, tag=tag, revision=commit, repo_type="model")
            self.say(f"{entry.name}: tagged {tag}")
        return dataclasses.replace(entry, repo_id=repo_id, revision=commit, tag=tag)

    def dry_run(self, folder: Path, entry: zoo.Preset) -> None:
        repo_id, tag = f"{self.org}/{entry.name}", release_tag(entry)
        self.say(f"{entry.name} -> {repo_id} ({human(entry.size)})")
        for name in entry.file_names:
            self.say(f"    {name:18s} {human((folder / name).stat().st_size):>10s}  "
                     f"sha256 {entry.files[name][:12]}")
        if entry.repo_id == repo_id and entry.revision and entry.tag == tag:
            self.say(f"    would do nothing: the registry records {repo_id}@{tag} = "
                     f"{entry.revision} (the Hub is checked on a real run)")
        else:
            self.say(f"    would create {repo_id} if missing, upload the files unless the Hub's "
                     f"main already holds them, tag {tag} and record the commit in the registry")


def main(argv: list[str] | None = None, api_factory: Callable[[], Any] | None = None,
         weights: Path = WEIGHTS, registry: Path = REGISTRY) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="presets to publish (default: every bundled one)")
    parser.add_argument("--org", help="Hub user or organisation: presets go to ORG/<preset>")
    parser.add_argument("--dry-run", action="store_true",
                        help="list each preset, its files and sizes and what would be done; "
                             "contacts nothing")
    parser.add_argument("--private", action="store_true", help="create new repositories private")
    parser.add_argument("--sync-registry", action="store_true",
                        help="rewrite the registry's hashes from weights/*/metadata.json")
    args = parser.parse_args(argv)
    try:
        if args.sync_registry:
            sync_registry(weights, registry)
            return 0
        if not args.org:
            raise ValueError("--org ORG is required (or --sync-registry).")
        bundled = sorted(p.parent.name for p in weights.glob("*/metadata.json"))
        unknown = sorted(set(args.names) - set(bundled))
        if unknown:
            raise ValueError(f"not bundled presets: {unknown}; bundled: {bundled}.")
        names = args.names or bundled
        entries = zoo.read_registry(registry)
        plan = [(weights / name, checked(weights / name, entries)) for name in names]
        if args.dry_run:
            publisher = Publisher(None, args.org)
            for folder, entry in plan:
                publisher.dry_run(folder, entry)
            total = sum(entry.size for _, entry in plan)
            count = sum(len(entry.file_names) for _, entry in plan)
            print(f"{len(plan)} presets, {count} files, {human(total)}; "
                  "dry run: nothing contacted or written")
            return 0
        if api_factory is None:
            from huggingface_hub import HfApi

            api_factory = HfApi
        publisher = Publisher(api_factory(), args.org, registry, private=args.private)
        for folder, entry in plan:
            entries[entry.name] = publisher.publish(folder, entry)
            zoo.write_registry(registry, entries)  # progress survives a failure further on
        print(f"{len(plan)} presets published to {args.org}; registry: {registry}")
        return 0
    except (ValueError, OSError) as error:
        print(f"publish: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
