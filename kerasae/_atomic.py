"""Atomic writes that never delete what kerasae did not write.

Every artefact kerasae writes (a preset folder, an export folder, an index file) is first built
in a hidden sibling `.<name>.tmp-<pid>-<random>` and then moved into place:

- a new target: one rename;
- an existing folder, on Linux: renameat2(RENAME_EXCHANGE) swaps the two folders in one step,
  so the path always holds either the old or the new complete artefact, never nothing; the old
  one (now under the hidden name) is then removed;
- elsewhere, or on a filesystem without RENAME_EXCHANGE: the old folder is renamed aside to
  `.<name>.old-<pid>-<random>` and the new one renamed into place. A crash between the two
  renames leaves the path missing for a moment; the next write to the same path puts the old
  folder back before it writes.

A write killed midway leaves its hidden sibling behind; the next write to the same path removes
those whose owner process is gone (or that are older than a day). A non-empty folder that the
caller does not recognise as its own is refused unless `overwrite=True`; a file, a symbolic link
or anything else that is not a folder is always refused.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

STALE_AFTER_S = 24 * 3600  # a leftover whose owner pid cannot be checked is removed after this
_LEFTOVER = re.compile(r"(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]{8}")
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_RENAMEAT2_SYSCALL = {"x86_64": 316, "aarch64": 276}


def _crash_point(stage: str) -> None:
    """No-op. The kill tests replace it in a subprocess to die at `stage` ("written": before
    the swap, "exchanged": after it, "moved_aside": between the two fallback renames)."""


def _sibling(target: Path, kind: str) -> Path:
    return target.parent / f".{target.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def check_target(target: str | os.PathLike, is_ours: Callable[[Path], bool], overwrite: bool,
                 what: str) -> Path:
    """Refuse to write `what` at `target` when that would replace something not written by
    kerasae: a file or link (always), or a non-empty folder `is_ours` rejects (unless
    `overwrite`). Checked before any work, and again just before the swap."""
    target = Path(target)
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        kind = "a symbolic link" if target.is_symlink() else "a file"
        raise ValueError(
            f"{target} is {kind}; kerasae writes the {what} as a folder there and never "
            "replaces a file or link, even with overwrite=True. Choose another path or move "
            "it away."
        )
    for parent in target.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise ValueError(f"{parent} is a file; the {what} cannot be written inside it.")
            break
    if target.is_dir() and not overwrite and not is_ours(target):
        names = sorted(p.name for p in target.iterdir())
        if names:
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            raise ValueError(
                f"{target} already holds files that are not a kerasae {what} ({shown}); "
                "nothing was written and nothing was deleted. Choose an empty or new folder, "
                "or pass overwrite=True (CLI: --overwrite) to replace the whole folder."
            )
    return target


def _owner_gone(path: Path, pid: int) -> bool:
    try:
        if time.time() - path.lstat().st_mtime > STALE_AFTER_S:
            return True
    except FileNotFoundError:
        return False
    if os.name != "posix" or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a killed child its parent has not reaped yet is a zombie: gone all the same
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def clean_leftovers(target: str | os.PathLike) -> list[Path]:
    """Remove the hidden siblings of `target` left by killed kerasae writes (their owner process
    is gone). If `target` is missing because a write died between its two fallback renames,
    the newest old folder is put back first. Returns what was removed."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    prefix = f".{target.name}."
    olds, removed = [], []
    for entry in target.parent.iterdir():
        match = _LEFTOVER.fullmatch(entry.name[len(prefix):]) if entry.name.startswith(
            prefix) else None
        if match is None or entry.is_symlink() or not _owner_gone(entry, int(match["pid"])):
            continue
        if match["kind"] == "old":  # only folders are renamed aside
            if entry.is_dir():
                olds.append(entry)
        else:  # a folder of atomic_directory or a file of atomic_file
            removed.append(entry)
    if olds and not target.exists() and not target.is_symlink():
        newest = max(olds, key=lambda p: p.stat().st_mtime)
        os.rename(newest, target)
        olds.remove(newest)
    for entry in [*olds, *removed]:
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
    return [*olds, *removed]


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux renameat2 RENAME_EXCHANGE). False where the
    system or the filesystem cannot, so the caller falls back to two renames."""
    libc = _libc() if sys.platform.startswith("linux") else None
    if libc is None:
        return False
    args = (ctypes.c_int(_AT_FDCWD), os.fsencode(a), ctypes.c_int(_AT_FDCWD), os.fsencode(b),
            ctypes.c_uint(_RENAME_EXCHANGE))
    if hasattr(libc, "renameat2"):  # glibc >= 2.28
        result = libc.renameat2(*args)
    elif platform.machine() in _RENAMEAT2_SYSCALL:
        result = libc.syscall(ctypes.c_long(_RENAMEAT2_SYSCALL[platform.machine()]), *args)
    else:
        return False
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def _fsync(path: Path) -> None:
    """Flush a file's contents, or a folder's entries, to disk (best effort for folders)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike, is_ours: Callable[[Path], bool] = lambda p: False,
                     overwrite: bool = False, what: str = "folder") -> Iterator[Path]:
    """Yield an empty hidden sibling folder to fill; on success it takes `target`'s place.

    If the body raises (or the process is interrupted), the sibling is removed and `target` is
    left as it was. See the module docstring for what is refused and how the swap works.
    """
    target = check_target(target, is_ours, overwrite, what)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(target)
    check_target(target, is_ours, overwrite, what)  # a restored old folder is checked too
    tmp = _sibling(target, "tmp")
    tmp.mkdir()
    try:
        yield tmp
        for child in sorted(tmp.rglob("*"), reverse=True):  # contents first, folders after
            _fsync(child)
        _fsync(tmp)
        _crash_point("written")
        check_target(target, is_ours, overwrite, what)
        if not target.exists():
            os.rename(tmp, target)
        elif exchange(tmp, target):
            _crash_point("exchanged")  # tmp now holds the old folder
        else:
            old = _sibling(target, "old")
            os.rename(target, old)
            _crash_point("moved_aside")
            try:
                os.rename(tmp, target)
            except BaseException:
                os.rename(old, target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        _fsync(target.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(target: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary stream; on success its bytes replace `target` in one rename (a crash
    leaves the old file or the new one, never half of one). Refuses a folder at `target`."""
    target = Path(target)
    if target.is_dir():
        raise ValueError(f"{target} is a folder; a file cannot replace it.")
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(target)
    tmp = _sibling(target, "tmp")
    try:
        with open(tmp, "xb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, target)
        _fsync(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
