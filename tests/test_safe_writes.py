"""The shared atomic writer (kerasae._atomic): the swap, the fallback, what counts as a leftover,
the single-file writer LatentIndex uses, and `kerasae export --overwrite / --version`.

Runs once per backend, in this process (no subprocess but the leftovers' dead owner).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import kerasae
import kerasae._atomic as atomic
from kerasae import cli
from kerasae.apps import LatentIndex

NATIVE = {"tensorflow": "tf_saved_model", "jax": "tf_saved_model", "torch": "onnx"}[
    keras.backend.backend()]


def folder_with(path, **files):
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_exchange_swaps_two_folders_in_one_step(tmp_path):
    """Fails if RENAME_EXCHANGE is not used on Linux (the swap must not go through a moment
    where a path is missing), or swaps the wrong way."""
    a = folder_with(tmp_path / "a", new="1")
    b = folder_with(tmp_path / "b", old="1")
    assert atomic.exchange(a, b) is sys.platform.startswith("linux")
    if sys.platform.startswith("linux"):
        assert os.listdir(a) == ["old"] and os.listdir(b) == ["new"]


@pytest.mark.parametrize("exchange", [True, False])
def test_atomic_directory_replaces_its_own_folder_whole(tmp_path, monkeypatch, exchange):
    """Fails if a write over a folder the caller owns keeps old files or leaves hidden
    siblings, on the exchange path and on the two-rename fallback; or if a body that raises
    changes the folder."""
    if not exchange:
        monkeypatch.setattr(atomic, "exchange", lambda a, b: False)
    target = folder_with(tmp_path / "out", old="x")
    with atomic.atomic_directory(target, lambda path: True) as tmp:
        (tmp / "new").write_text("y")
    assert os.listdir(target) == ["new"] and os.listdir(tmp_path) == ["out"]
    with pytest.raises(RuntimeError), atomic.atomic_directory(target, lambda p: True) as tmp:
        (tmp / "half").write_text("z")
        raise RuntimeError("writer failed")
    assert os.listdir(target) == ["new"] and os.listdir(tmp_path) == ["out"]


def test_leftovers_of_dead_writers_go_others_stay(tmp_path):
    """Fails if the next write keeps a dead writer's leftover, or removes a live writer's, an
    unrelated hidden folder, or a look-alike name; or if a path emptied between the fallback's
    two renames is not given its old folder back before the write."""
    dead, alive = dead_pid(), os.getpid()
    target = tmp_path / "out"
    gone = [folder_with(tmp_path / f".out.tmp-{dead}-0123abcd", a="1"),
            folder_with(tmp_path / f".out.old-{dead}-89abcdef", old="kept")]
    stays = [folder_with(tmp_path / f".out.tmp-{alive}-0123abcd", b="1"),
             folder_with(tmp_path / ".out.tmp-notes", c="1"),
             folder_with(tmp_path / f".other.tmp-{dead}-0123abcd", d="1")]
    (tmp_path / f".out.old-{dead}-0000000f").write_text("a file, not kerasae's folder")
    stays.append(tmp_path / f".out.old-{dead}-0000000f")
    seen = []

    def is_ours(path):
        seen.append(sorted(os.listdir(path)))
        return True

    with atomic.atomic_directory(target, is_ours) as tmp:
        (tmp / "new").write_text("y")
    assert seen[0] == ["old"]  # the old folder was put back first, and checked
    assert all(not p.exists() for p in gone)
    assert all(p.exists() for p in stays)
    assert os.listdir(target) == ["new"]

    old = folder_with(tmp_path / f".out.tmp-{alive + 10**7}-00000000", e="1")
    os.utime(old, (time.time() - 2 * atomic.STALE_AFTER_S,) * 2)
    atomic.clean_leftovers(target)
    assert not old.exists()  # too old to belong to a running write


def test_latent_index_file_is_written_atomically(tmp_path):
    """Fails if LatentIndex.save leaves a temporary file, keeps a dead writer's one, or
    replaces a folder."""
    index = LatentIndex(None)
    index.add_embeddings(np.eye(3, dtype="float32"))
    stale = tmp_path / f".index.npz.tmp-{dead_pid()}-0123abcd"
    stale.write_bytes(b"half")
    path = index.save(tmp_path / "index.npz")
    assert sorted(os.listdir(tmp_path)) == ["index.npz"] and os.fspath(path).endswith("index.npz")
    np.testing.assert_array_equal(LatentIndex.load(path).embeddings, index.embeddings)
    (tmp_path / "folder.npz").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        index.save(tmp_path / "folder.npz")


def test_cli_export_refuses_a_foreign_folder_and_writes_versions(tmp_path, capsys):
    """Fails if `kerasae export` deletes a user's file without --overwrite (it must exit 2 and
    say so), or --version does not write DIR/VERSION/."""
    preset = kerasae.save_preset(kerasae.build("ae", input_shape=(8,), latent_dim=2),
                                 tmp_path / "preset")
    out = folder_with(tmp_path / "out", **{"precious.txt": "mine"})
    assert cli.main(["export", str(preset), str(out), "--format", NATIVE]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert os.listdir(out) == ["precious.txt"]
    assert cli.main(["export", str(preset), str(out), "--format", NATIVE, "--version", "3"]) == 0
    assert sorted(os.listdir(out)) == ["3", "precious.txt"]
    assert "kerasae-export.json" in os.listdir(out / "3")
    assert cli.main(["export", str(preset), str(out), "--format", NATIVE, "--overwrite"]) == 0
    assert "precious.txt" not in os.listdir(out)


def test_save_preset_without_a_model_is_a_clear_error(tmp_path):
    """Fails if save_preset(None, ...) raises anything but a ValueError or writes anything."""
    with pytest.raises(ValueError, match="must be a Keras model"):
        kerasae.save_preset(None, tmp_path / "p")
    assert os.listdir(tmp_path) == []
