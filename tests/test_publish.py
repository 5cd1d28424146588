"""scripts/publish.py against a stand-in for huggingface_hub.HfApi that keeps a Hub in memory
(repos, commits, tags; file metadata as the Hub reports it): publishing, idempotence, refusal
of damaged presets, the registry it writes, the dry run, and the token never printed."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from hub_cache import git_blob_sha1
from huggingface_hub.hf_api import BlobLfsInfo, GitRefInfo, GitRefs, RepoSibling
from project_scripts import load_script

import kerasae
from kerasae.hub import registry, zoo
from kerasae.hub.preset import METADATA, PRESET_FILES, WEIGHTS, update_metadata

ROOT = Path(__file__).resolve().parents[1]
publish = load_script("publish")

PRESETS = ["sparse_ae_natural_patches", "linear_ae_mnist"]  # the two smallest bundled presets
TOKEN = "hf_NotARealTokenButSecretAnyway123"


class FakeHub:
    """An in-memory Hub behind an HfApi-shaped class; every call is recorded."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []
        self.repos: dict[str, dict] = {}  # repo_id -> {"commits": {sha: files}, "main", "tags"}
        hub = self

        class Api:
            def __init__(self, **kwargs):
                assert not kwargs, kwargs  # no token passed: huggingface_hub finds its own
                hub.calls.append(("HfApi", ""))

            def repo_exists(self, repo_id, repo_type=None):
                hub.calls.append(("repo_exists", repo_id))
                return repo_id in hub.repos

            def create_repo(self, repo_id, **kwargs):
                hub.calls.append(("create_repo", repo_id))
                assert kwargs.get("repo_type") == "model" and "token" not in kwargs
                hub.repos.setdefault(repo_id, {"commits": {}, "main": None, "tags": {}})
                hub.commit(repo_id, {".gitattributes": b"*.h5 filter=lfs\n"})

            def model_info(self, repo_id, revision=None, files_metadata=False):
                hub.calls.append(("model_info", f"{repo_id}@{revision}"))
                repo = hub.repos[repo_id]
                sha = {"main": repo["main"], **repo["tags"]}.get(revision, revision)
                files = repo["commits"][sha]
                return SimpleNamespace(sha=sha, siblings=[hub.sibling(n, d) for n, d in
                                                          files.items()])

            def list_repo_refs(self, repo_id, repo_type=None):
                hub.calls.append(("list_repo_refs", repo_id))
                repo = hub.repos[repo_id]
                return GitRefs(
                    branches=[GitRefInfo(name="main", ref="refs/heads/main",
                                         target_commit=repo["main"])],
                    converts=[],
                    tags=[GitRefInfo(name=t, ref=f"refs/tags/{t}", target_commit=c)
                          for t, c in repo["tags"].items()])

            def upload_folder(self, *, repo_id, folder_path, allow_patterns, **kwargs):
                hub.calls.append(("upload_folder", repo_id))
                assert "token" not in kwargs and kwargs.get("revision") in (None, "main")
                folder = Path(folder_path)
                files = dict(hub.repos[repo_id]["commits"][hub.repos[repo_id]["main"]])
                files.update({p.name: p.read_bytes() for p in folder.iterdir()
                              if p.name in allow_patterns})
                return SimpleNamespace(oid=hub.commit(repo_id, files))

            def create_tag(self, repo_id, *, tag, revision, **kwargs):
                hub.calls.append(("create_tag", f"{repo_id}:{tag}"))
                tags = hub.repos[repo_id]["tags"]
                if tag in tags:
                    raise RuntimeError(f"409: tag {tag} exists")
                tags[tag] = revision

        self.Api = Api

    def commit(self, repo_id: str, files: dict[str, bytes]) -> str:
        repo = self.repos[repo_id]
        sha = hashlib.sha1(repr((repo["main"], sorted(files.items()))).encode()).hexdigest()
        repo["commits"][sha] = files
        repo["main"] = sha
        return sha

    @staticmethod
    def sibling(name: str, data: bytes) -> RepoSibling:
        """What the Hub reports with files_metadata=True: LFS files (the weights) by sha256,
        the others by git blob id."""
        lfs = None
        if name.endswith(".h5"):
            lfs = BlobLfsInfo(size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                              pointer_size=130)
        blob = git_blob_sha1(data)
        return RepoSibling(rfilename=name, size=len(data), blob_id=blob, lfs=lfs)

    def names(self, call: str) -> list[str]:
        return [arg for name, arg in self.calls if name == call]


@pytest.fixture
def zoo_dir(tmp_path, monkeypatch):
    """weights/ with copies of two bundled presets, a registry synced from them, HF_TOKEN set."""
    weights = tmp_path / "weights"
    for name in PRESETS:
        shutil.copytree(registry.bundled_root() / name, weights / name)
    registry_file = tmp_path / "zoo.json"
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert publish.main(["--sync-registry"], None, weights, registry_file) == 0
    return weights, registry_file


def test_publish_creates_uploads_tags_and_records_then_does_nothing(zoo_dir, capsys):
    """Fails if the first run does not create each repo, upload the four preset files, tag the
    commit and record repo, commit and tag in the registry; or if a second run uploads, tags or
    changes anything; or if the token appears in any output."""
    weights, registry_file = zoo_dir
    hub = FakeHub()
    assert publish.main(["--org", "someone"], hub.Api, weights, registry_file) == 0
    first = capsys.readouterr()
    repos = [f"someone/{n}" for n in sorted(PRESETS)]
    assert hub.names("create_repo") == hub.names("upload_folder") == repos
    entries = zoo.read_registry(registry_file)
    for name in PRESETS:
        repo = hub.repos[f"someone/{name}"]
        entry = entries[name]
        assert entry.repo_id == f"someone/{name}" and entry.revision == repo["main"]
        assert entry.tag == publish.release_tag(entry)
        assert repo["tags"] == {entry.tag: entry.revision}
        assert entry.tag.startswith(f"v{kerasae.__version__}-")
        files = repo["commits"][entry.revision]
        for file in PRESET_FILES:
            assert files[file] == (weights / name / file).read_bytes()
            assert hashlib.sha256(files[file]).hexdigest() == entry.files[file]
    registry_text = registry_file.read_text()

    calls_before = len(hub.calls)
    assert publish.main(["--org", "someone"], hub.Api, weights, registry_file) == 0
    second = capsys.readouterr()
    later = {call for call, _ in hub.calls[calls_before:]}
    assert later.isdisjoint({"create_repo", "upload_folder", "create_tag"}), later
    assert registry_file.read_text() == registry_text
    assert second.out.count("unchanged") == len(PRESETS)
    for stream in (first.out, first.err, second.out, second.err):
        assert TOKEN not in stream and "hf_" not in stream


def test_a_changed_preset_is_published_again(zoo_dir, capsys):
    """Fails if syncing a changed preset keeps its old revision, or if publishing it again does
    not upload it under a new tag while the unchanged one is left alone."""
    weights, registry_file = zoo_dir
    hub = FakeHub()
    assert publish.main(["--org", "someone"], hub.Api, weights, registry_file) == 0
    old = zoo.read_registry(registry_file)
    update_metadata(weights / "linear_ae_mnist", notes="retrained card text")
    assert publish.main(["--sync-registry"], None, weights, registry_file) == 0
    synced = zoo.read_registry(registry_file)
    assert synced["linear_ae_mnist"].revision is None
    assert synced["linear_ae_mnist"].repo_id == "someone/linear_ae_mnist"
    assert synced["sparse_ae_natural_patches"] == old["sparse_ae_natural_patches"]
    capsys.readouterr()

    before = len(hub.calls)
    assert publish.main(["--org", "someone"], hub.Api, weights, registry_file) == 0
    uploads = [arg for call, arg in hub.calls[before:] if call == "upload_folder"]
    assert uploads == ["someone/linear_ae_mnist"]
    new = zoo.read_registry(registry_file)["linear_ae_mnist"]
    assert new.revision == hub.repos["someone/linear_ae_mnist"]["main"] != old[
        "linear_ae_mnist"].revision
    assert new.tag != old["linear_ae_mnist"].tag
    assert len(hub.repos["someone/linear_ae_mnist"]["tags"]) == 2


def test_files_already_on_main_are_tagged_not_uploaded(zoo_dir):
    """Fails if a preset the Hub's main already holds (pushed by hand) is uploaded again."""
    weights, registry_file = zoo_dir
    hub = FakeHub()
    api = hub.Api()
    api.create_repo("someone/linear_ae_mnist", repo_type="model")
    hub.commit("someone/linear_ae_mnist", {
        **hub.repos["someone/linear_ae_mnist"]["commits"][hub.repos["someone/linear_ae_mnist"][
            "main"]],
        **{f: (weights / "linear_ae_mnist" / f).read_bytes() for f in PRESET_FILES}})
    assert publish.main(["--org", "someone", "linear_ae_mnist"], hub.Api, weights,
                        registry_file) == 0
    assert hub.names("upload_folder") == []
    assert hub.names("create_tag") == [
        f"someone/linear_ae_mnist:{zoo.read_registry(registry_file)['linear_ae_mnist'].tag}"]
    assert "sparse_ae_natural_patches" not in hub.names("repo_exists")


@pytest.mark.parametrize("damage", ["weights", "stale registry", "unknown name"])
def test_refuses_before_contacting_the_hub(zoo_dir, capsys, damage):
    """Fails if a preset whose files do not match their hashes, a registry out of step with the
    presets, or an unknown name gets as far as HfApi."""
    weights, registry_file = zoo_dir
    argv = ["--org", "someone"]
    if damage == "weights":
        path = weights / "linear_ae_mnist" / WEIGHTS
        data = bytearray(path.read_bytes())
        data[-50] ^= 1
        path.write_bytes(bytes(data))
        expected = "model.weights.h5"
    elif damage == "stale registry":
        update_metadata(weights / "linear_ae_mnist", notes="changed, not synced")
        expected = "--sync-registry"
    else:
        argv.append("vae_mnist")
        expected = "not bundled"
    hub = FakeHub()
    before = registry_file.read_text()
    assert publish.main(argv, hub.Api, weights, registry_file) == 2
    assert expected in capsys.readouterr().err
    assert hub.calls == [] and hub.repos == {}
    assert registry_file.read_text() == before


def test_dry_run_lists_files_and_sizes_and_contacts_nothing(zoo_dir, capsys):
    weights, registry_file = zoo_dir
    before = registry_file.read_text()
    hub = FakeHub()
    assert publish.main(["--org", "someone", "--dry-run"], hub.Api, weights, registry_file) == 0
    out = capsys.readouterr().out
    assert hub.calls == [] and registry_file.read_text() == before
    for name in PRESETS:
        assert f"{name} -> someone/{name}" in out
        assert f"tag {publish.release_tag(zoo.read_registry(registry_file)[name])}" in out
    for file in PRESET_FILES:
        assert out.count(file) == len(PRESETS)
    size = (weights / "linear_ae_mnist" / WEIGHTS).stat().st_size
    assert publish.human(size) in out
    assert f"{len(PRESETS)} presets, {4 * len(PRESETS)} files" in out


def test_sync_registry_reports_and_writes(tmp_path, capsys):
    """Fails if --sync-registry does not write every bundled preset's four hashes (metadata.json
    included) or reports a change when nothing changed."""
    weights = tmp_path / "weights"
    shutil.copytree(registry.bundled_root() / "linear_ae_mnist", weights / "linear_ae_mnist")
    registry_file = tmp_path / "zoo.json"
    assert publish.main(["--sync-registry"], None, weights, registry_file) == 0
    assert "linear_ae_mnist: added" in capsys.readouterr().out
    entry = json.loads(registry_file.read_text())["presets"]["linear_ae_mnist"]
    assert entry["files"][METADATA] == hashlib.sha256(
        (weights / "linear_ae_mnist" / METADATA).read_bytes()).hexdigest()
    assert entry["revision"] is None
    assert publish.main(["--sync-registry"], None, weights, registry_file) == 0
    assert capsys.readouterr().out.strip() == "linear_ae_mnist: unchanged"
