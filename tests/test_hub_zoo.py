"""The zoo on the Hub: preset names resolve to the bundled copy, else to the revision kerasae's
registry pins, read from a Hugging Face cache laid out as huggingface_hub lays it out (offline:
nothing here reaches the network); the registry agrees with the bundled metadata; a slim wheel
carries the registry and no weights; handles that are neither names nor paths are refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import huggingface_hub
import pytest
from hub_cache import add_snapshot
from huggingface_hub import constants

import kerasae
from kerasae.data import shipped_sample
from kerasae.hub import HubUnavailableError, IntegrityError, registry, resolve, zoo
from kerasae.hub.preset import METADATA, OPTIONAL_FILES, PRESET_FILES, SAMPLER, WEIGHTS

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = registry.bundled_root()
ORG = "kerasae-test"
# Loaded for real (two small ones); every preset is resolved.
LOADED = ["linear_ae_mnist", "sparse_ae_natural_patches", "conv_ae_mnist"]  # the last: a sampler


def commit_of(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


def lay_out(cache: Path, repo_id: str, commit: str, preset: Path,
            files: tuple[str, ...] = PRESET_FILES) -> Path:
    return add_snapshot(cache, repo_id, commit, preset, files)


def published(entries: dict[str, zoo.Preset]) -> dict[str, zoo.Preset]:
    """The shipped registry as if published: ORG/<name> at a commit per preset."""
    return {name: dataclasses.replace(e, repo_id=f"{ORG}/{name}", revision=commit_of(name))
            for name, e in entries.items()}


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def filled_cache(tmp_path_factory) -> Path:
    """A Hugging Face cache holding every bundled preset at its registry revision."""
    cache = tmp_path_factory.mktemp("hf") / "hub"
    for name in zoo.presets():
        lay_out(cache, f"{ORG}/{name}", commit_of(name), BUNDLED / name,
                zoo.presets()[name].file_names)
    return cache


def use_hub(monkeypatch, cache: Path, entries: dict[str, zoo.Preset] | None = None) -> None:
    """Hide the bundled presets, go offline (HF_HUB_OFFLINE=1) on `cache` (HF_HUB_CACHE), and
    let the registry name ORG/<preset> repos."""
    monkeypatch.setattr(registry, "bundled_root", lambda: None)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    entries = published(zoo.presets()) if entries is None else entries
    monkeypatch.setattr(zoo, "presets", lambda: dict(entries))


def sample_error(model, meta: dict) -> float:
    check = meta["sample_check"]
    x, y = shipped_sample(check["sample"])
    kwargs = {"condition": y} if check["conditioned_on_labels"] else {}
    return float(model.reconstruction_error(x, **kwargs).mean())


# ----- the registry ----------------------------------------------------------------------------


def test_registry_matches_the_bundled_metadata():
    """Fails when weights/ and kerasae/hub/zoo.json disagree (a preset added, removed or
    changed without `python scripts/publish.py --sync-registry`)."""
    shipped = zoo.presets()
    fresh = zoo.synced(BUNDLED, {})
    assert sorted(shipped) == sorted(fresh) == registry.bundled_names()
    for name, entry in fresh.items():
        assert dict(shipped[name].files) == dict(entry.files), (
            f"{name}: registry is stale; run python scripts/publish.py --sync-registry")
        assert shipped[name].size == entry.size
        assert set(PRESET_FILES) <= set(entry.files) <= {*PRESET_FILES, *OPTIONAL_FILES}
        meta = json.loads((BUNDLED / name / METADATA).read_text())
        assert {k: entry.files[k] for k in meta["files"]} == meta["files"]
        if shipped[name].revision is not None:  # published: a commit hash, with its repo
            assert len(shipped[name].revision) == 40 and shipped[name].repo_id


def test_registry_round_trips_and_keeps_unknown_fields(tmp_path):
    """Fails if writing and reading the registry loses a field, or drops keys a later kerasae
    adds (they are kept in `extra`)."""
    entries = published(zoo.presets())
    entries["vae_mnist"] = dataclasses.replace(entries["vae_mnist"], tag="v1-abc",
                                               extra={"recipe": {"epochs": 3}})
    path = tmp_path / "zoo.json"
    zoo.write_registry(path, entries)
    assert zoo.read_registry(path) == entries
    data = json.loads(path.read_text())
    assert data["presets"]["vae_mnist"]["recipe"] == {"epochs": 3}
    data["format"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="format 99"):
        zoo.read_registry(path)


# ----- names from the Hub cache ------------------------------------------------------------------


def test_every_preset_resolves_from_the_hub_cache(filled_cache, monkeypatch):
    """Fails if, without bundled presets, a name does not resolve to its pinned snapshot in the
    cache, its metadata differs from the bundled one, or its status is not 'cached'."""
    before = tree(filled_cache)
    use_hub(monkeypatch, filled_cache)
    names = sorted(zoo.presets())
    assert registry.bundled_names() == []
    assert kerasae.list_models() == names
    for name in names:
        folder = resolve(name)
        assert folder == filled_cache / f"models--{ORG}--{name}" / "snapshots" / commit_of(name)
        assert kerasae.model_info(name) == json.loads((BUNDLED / name / METADATA).read_text())
    records = kerasae.list_models(details=True)
    assert [r.name for r in records] == names
    assert {r.status for r in records} == {"cached"}
    assert all(r.repo_id == f"{ORG}/{r.name}" and r.revision == commit_of(r.name)
               for r in records)
    assert tree(filled_cache) == before  # read only


@pytest.mark.parametrize("name", LOADED)
def test_preset_loads_from_the_hub_cache(filled_cache, monkeypatch, name):
    """Fails if a preset loaded by name from the cache does not reproduce the figure recorded
    for the bundled copy."""
    meta = json.loads((BUNDLED / name / METADATA).read_text())
    use_hub(monkeypatch, filled_cache)
    model = kerasae.load(name, compile=False)
    assert model.preset_metadata == meta
    assert (model.code_sampler is not None) == (SAMPLER in meta["files"])
    assert sample_error(model, meta) == pytest.approx(
        meta["sample_check"]["mean_reconstruction_error"], rel=1e-4)


def test_status_is_bundled_cached_remote_or_unpublished(filled_cache, monkeypatch, tmp_path):
    entries = published(zoo.presets())
    entries["vae_mnist"] = dataclasses.replace(entries["vae_mnist"], repo_id=None, revision=None)
    use_hub(monkeypatch, tmp_path / "empty", entries)
    status = {r.name: r.status for r in kerasae.list_models(details=True)}
    assert status["vae_mnist"] == "unpublished"
    assert status["ae_mnist"] == "remote"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(filled_cache))
    assert {r.name: r.status for r in kerasae.hub.preset_status()}["ae_mnist"] == "cached"
    monkeypatch.setattr(registry, "bundled_root", lambda: BUNDLED)
    records = kerasae.hub.preset_status(["ae_mnist", "vae_mnist"])
    assert [r.status for r in records] == ["bundled", "bundled"]
    assert records[0].size == sum((BUNDLED / "ae_mnist" / f).stat().st_size for f in PRESET_FILES)


@pytest.mark.parametrize("altered", [WEIGHTS, METADATA])
def test_altered_cache_file_is_an_integrity_error(filled_cache, monkeypatch, tmp_path, altered):
    """Fails if a cached file that differs from the registry's sha256 loads. metadata.json is
    checked too: only the registry vouches for it."""
    cache = tmp_path / "hub"
    shutil.copytree(filled_cache / f"models--{ORG}--ae_mnist", cache / f"models--{ORG}--ae_mnist",
                    symlinks=True)
    blob = (cache / f"models--{ORG}--ae_mnist" / "snapshots" / commit_of("ae_mnist") / altered
            ).resolve()
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 1
    blob.write_bytes(bytes(data))
    use_hub(monkeypatch, cache)
    with pytest.raises(IntegrityError, match=rf"(?s){ORG}/ae_mnist.*{altered}"):
        kerasae.load("ae_mnist")


def test_model_info_needs_only_the_metadata(monkeypatch, tmp_path):
    """Fails if model_info of a preset that is not bundled needs more than its metadata.json
    (listing the zoo would then download every preset), or skips the registry's hash of it."""
    cache = tmp_path / "hub"
    snapshot = lay_out(cache, f"{ORG}/vae_mnist", commit_of("vae_mnist"), BUNDLED / "vae_mnist",
                       files=(METADATA,))
    use_hub(monkeypatch, cache)
    assert kerasae.model_info("vae_mnist") == json.loads(
        (BUNDLED / "vae_mnist" / METADATA).read_text())
    with pytest.raises(IntegrityError, match=r"config\.json is missing"):
        kerasae.load("vae_mnist")
    blob = (snapshot / METADATA).resolve()
    blob.write_text(blob.read_text().replace('"vae"', '"ae"'))
    with pytest.raises(IntegrityError, match=rf"{ORG}/vae_mnist.*metadata\.json"):
        kerasae.model_info("vae_mnist")


def test_revision_missing_from_the_cache_names_it(filled_cache, monkeypatch):
    """Fails if a registry revision that the cache lacks (another commit of a cached repo)
    loads something else or fails without naming the repo and the revision."""
    other = "f" * 40
    entries = published(zoo.presets())
    entries["ae_mnist"] = dataclasses.replace(entries["ae_mnist"], revision=other)
    use_hub(monkeypatch, filled_cache, entries)
    with pytest.raises(HubUnavailableError, match=rf"revision {other} of {ORG}/ae_mnist"):
        kerasae.load("ae_mnist")


def test_offline_with_nothing_cached_says_what_to_do(monkeypatch, tmp_path):
    """Fails if loading an uncached preset offline raises anything but one ValueError naming the
    repo, the revision and the ways out, or writes to the cache."""
    cache = tmp_path / "hub"
    cache.mkdir()
    use_hub(monkeypatch, cache)
    with pytest.raises(ValueError) as error:
        kerasae.load("vae_mnist")
    message = str(error.value)
    assert isinstance(error.value, ConnectionError)  # also what hf:// handles raised before
    for part in (f"{ORG}/vae_mnist", commit_of("vae_mnist"), "HF_HUB_OFFLINE=0",
                 f"hf download {ORG}/vae_mnist --revision {commit_of('vae_mnist')}",
                 "full kerasae wheel", str(cache)):
        assert part in message, (part, message)
    assert tree(cache) == []
    with pytest.raises(HubUnavailableError):
        kerasae.model_info("vae_mnist")


def test_unpublished_preset_without_bundled_copy(monkeypatch, tmp_path):
    entries = {"vae_mnist": dataclasses.replace(zoo.presets()["vae_mnist"], revision=None)}
    use_hub(monkeypatch, tmp_path, entries)
    with pytest.raises(ValueError, match="not been published"):
        kerasae.load("vae_mnist")
    with pytest.raises(ValueError, match=r"unknown preset 'vae_mnsit'\. Did you mean 'vae_mnist'"):
        kerasae.load("vae_mnsit")


# ----- names, paths and bad handles (issues 11 and 13) -------------------------------------------


@pytest.mark.parametrize("bad", [None, 3, b"vae_mnist", ["vae_mnist"]])
def test_non_string_name_is_a_value_error(bad):
    with pytest.raises(ValueError, match=r"preset name .* got"):
        kerasae.model_info(bad)
    with pytest.raises(ValueError, match="preset handle"):
        kerasae.load(bad)


@pytest.mark.parametrize("empty", ["", "  "])
def test_empty_handle_is_refused(empty, tmp_path, monkeypatch):
    """Fails if "" loads the current directory (here a real preset folder)."""
    shutil.copytree(BUNDLED / "linear_ae_mnist", tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="empty"):
        kerasae.load(empty)
    with pytest.raises(ValueError, match="empty"):
        kerasae.model_info(empty)


def test_preset_name_wins_over_a_same_named_local_folder(tmp_path, monkeypatch):
    """Fails if a local folder named like a preset shadows it, or if an explicit path to that
    folder, or a bare name that is no preset, does not load the folder."""
    monkeypatch.chdir(tmp_path)
    for name in ("vae_mnist", "my_preset"):
        shutil.copytree(BUNDLED / "linear_ae_mnist", tmp_path / name)
    assert resolve("vae_mnist") == BUNDLED / "vae_mnist"
    assert resolve("./vae_mnist") == Path("./vae_mnist")
    assert resolve(str(tmp_path / "vae_mnist")) == tmp_path / "vae_mnist"
    assert resolve(Path("vae_mnist")) == Path("vae_mnist")  # a Path is explicit
    assert resolve("my_preset") == Path("my_preset")
    assert kerasae.load("./vae_mnist", compile=False).variant == "linear_ae"
    with pytest.raises(ValueError, match="no preset folder"):
        resolve("./missing")


# ----- the slim wheel ----------------------------------------------------------------------------


def test_slim_wheel_has_no_weights(tmp_path):
    """Fails if KERASAE_SLIM=1 builds a wheel with presets in it, or without the registry that
    lets it fetch them. (Loading from the Hub cache without bundled presets is tested above;
    an installed slim wheel does the same, as its bundled_root() is None.)"""
    env = {**os.environ, "KERASAE_SLIM": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("kerasae-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.startswith("kerasae/weights/")]
    assert "kerasae/hub/zoo.json" in names and "kerasae/assets/mnist_sample.npz" in names
    assert "kerasae/hub/registry.py" in names
    assert wheel.stat().st_size < 2_000_000
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    assert zoo.read_registry(site / "kerasae" / "hub" / "zoo.json") == zoo.presets()


def test_hf_handle_of_a_preset_with_a_sampler_fetches_it(monkeypatch, tmp_path):
    """Fails if hf://org/repo takes only the four required files: a preset that ships a
    sampler.npz would then be refused as incomplete (or load without its sampler)."""
    cache = tmp_path / "cache"
    commit = commit_of("with-sampler")
    add_snapshot(cache, "org/conv", commit, BUNDLED / "conv_ae_mnist", (*PRESET_FILES, SAMPLER))
    use_hub(monkeypatch, cache)
    asked = []  # offline, the cache answers whatever is asked: check what would be downloaded
    real = huggingface_hub.snapshot_download
    monkeypatch.setattr(huggingface_hub, "snapshot_download",
                        lambda *a, **k: asked.append(k["allow_patterns"]) or real(*a, **k))
    model = kerasae.load(f"hf://org/conv@{commit}", compile=False)
    assert asked and SAMPLER in asked[0], asked
    assert model.code_sampler is not None
    assert model.sample(2, seed=0, sampler="gmm").shape == (2, 28, 28, 1)
