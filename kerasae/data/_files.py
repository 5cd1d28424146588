"""Where a dataset's files live, whether they are there, and whether they are the right ones.

Every loader in `kerasae.data` goes through these few functions, so every dataset finds its folder
the same way and fails with the same kind of message:

1. the `directory` argument, when given;
2. else the dataset's own environment variable, e.g. `$KERASAE_MNIST_DIR`;
3. else `$KERASAE_DATA_DIR/<name>`, e.g. `$KERASAE_DATA_DIR/mnist`.

A missing file raises `FileNotFoundError` naming the file, the folder it was looked for in and the
environment variables that move it. A file whose sha256 differs from the published one raises
kerasae's IntegrityError (a `ValueError`) naming the file and both hashes (pass `verify=False` to
a loader to read files you made yourself). An array of the wrong shape or dtype raises
`ValueError` with expected and got.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kerasae._checks import file_sha256, verify_sha256  # noqa: F401 (file_sha256: tests)

ROOT_ENV_VAR = "KERASAE_DATA_DIR"
VERIFY_HINT = "Fetch it again, or pass verify=False if you made it yourself."


@dataclass(frozen=True)
class DataSource:
    """What kerasae knows about one dataset: its folder name, its environment variable, the
    sha256 of each published file, and the licence or terms under which it may be used."""

    name: str  # folder name under $KERASAE_DATA_DIR, e.g. "mnist"
    title: str  # what messages call it, e.g. "MNIST"
    licence: str  # licence / terms as stated by the dataset's authors (cite in model cards)
    sha256: dict[str, str] = field(default_factory=dict)  # file name -> sha256 hex digest
    citation: str = ""
    env: str = ""  # short name for the environment variable, e.g. "celeba": $KERASAE_CELEBA_DIR

    @property
    def env_var(self) -> str:
        return f"KERASAE_{(self.env or self.name).upper()}_DIR"

    def where(self) -> str:
        """How to point kerasae at this dataset, for error messages."""
        return (
            f"pass directory=..., or set ${self.env_var} to the folder, "
            f"or ${ROOT_ENV_VAR} to a folder holding {self.name}/"
        )


def data_dir(source: DataSource, directory: str | os.PathLike | None = None) -> Path:
    """The folder holding `source`'s files: the argument, else ${source.env_var}, else
    $KERASAE_DATA_DIR/<source.name>. Raises FileNotFoundError when none is set or it is absent."""
    if directory is not None:
        folder, origin = Path(directory), "the directory argument"
    elif os.environ.get(source.env_var):
        folder, origin = Path(os.environ[source.env_var]), f"${source.env_var}"
    elif os.environ.get(ROOT_ENV_VAR):
        folder = Path(os.environ[ROOT_ENV_VAR]) / source.name
        origin = f"${ROOT_ENV_VAR}/{source.name}"
    else:
        raise FileNotFoundError(
            f"No folder given for {source.title}: {source.where()}. "
            f"Known files: {', '.join(source.sha256) or 'see the loader docstring'}."
        )
    folder = folder.expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{source.title} folder {folder} (from {origin}) does not exist; {source.where()}."
        )
    return folder


def missing_file(source: DataSource, folder: Path, name: str, hint: str = "") -> FileNotFoundError:
    """The error for a file that is not where it should be."""
    return FileNotFoundError(
        f"{source.title} file {name!r} is missing: looked for {folder / name}. Put {name} in "
        f"{folder}, or {source.where()}.{' ' + hint if hint else ''}"
    )


def require_files(
    source: DataSource,
    directory: str | os.PathLike | None,
    names: Sequence[str],
    *,
    verify: bool = True,
) -> list[Path]:
    """Paths of `names` in the dataset's folder, each checked to exist and, with `verify`, to
    match its published sha256 (files without a known hash are not checked)."""
    folder = data_dir(source, directory)
    paths = []
    for name in names:
        path = folder / name
        if not path.is_file():
            raise missing_file(source, folder, name)
        if verify:
            verify_known(source, path)
        paths.append(path)
    return paths


def verify_known(source: DataSource, path: Path) -> None:
    """Check `path` against the sha256 that `source` publishes for its file name, if any."""
    expected = source.sha256.get(path.name)
    if expected is not None:
        verify_file(path, expected)


def verify_file(path: str | os.PathLike, expected: str) -> None:
    """kerasae's one sha256 check (an IntegrityError, a ValueError, naming the file and both
    hashes), remembering files already verified unchanged in this process: datasets are large
    and read many times."""
    verify_sha256(path, expected, hint=VERIFY_HINT, remember=True)


def load_npz(path: Path, keys: Iterable[str]) -> dict[str, np.ndarray]:
    """The arrays `keys` of an npz file (never unpickles), with a clear error for a missing key."""
    keys = list(keys)
    with np.load(path, allow_pickle=False) as arrays:
        absent = [k for k in keys if k not in arrays.files]
        if absent:
            raise ValueError(
                f"{path}: expected arrays {keys}; missing {absent} (it holds {arrays.files})."
            )
        return {k: arrays[k] for k in keys}


def _describe(shape: Sequence[int | None] | None, dtype) -> str:
    parts = []
    if dtype is not None:
        parts.append(_dtype_name(dtype))
    if shape is not None:
        parts.append("(" + ", ".join("N" if d is None else str(d) for d in shape) + ")")
    return " ".join(parts)


def _dtype_name(dtype) -> str:
    if isinstance(dtype, str) and dtype in _KINDS:
        return _KINDS[dtype]
    return str(np.dtype(dtype))


_KINDS = {"f": "floating", "i": "signed integer", "u": "unsigned integer", "iu": "integer"}


def check_array(
    array: np.ndarray,
    what: str,
    *,
    shape: Sequence[int | None] | None = None,
    dtype=None,
) -> np.ndarray:
    """Raise ValueError with expected vs got unless `array` has `shape` (None matches any size)
    and `dtype` (a dtype, or a kind: "f" float, "i" signed, "u" unsigned, "iu" any integer)."""
    ok = True
    if shape is not None:
        ok = array.ndim == len(shape) and all(
            d is None or d == s for d, s in zip(shape, array.shape, strict=True)
        )
    if dtype is not None:
        if isinstance(dtype, str) and dtype in _KINDS:
            ok = ok and array.dtype.kind in dtype
        else:
            ok = ok and array.dtype == np.dtype(dtype)
    if not ok:
        raise ValueError(
            f"{what}: expected {_describe(shape, dtype)}; got {array.dtype} {array.shape}."
        )
    return array


_UNIT = np.arange(256, dtype=np.float32) / np.float32(255.0)


def unit_float(x: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [0, 1] (= x / 255), by table look-up: one allocation, fast."""
    if x.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels; got {x.dtype}.")
    return _UNIT[x]
