"""Similarity search in a model's latent space: an index of codes ranked by cosine similarity.

Embeddings are L2-normalised when added, so a search is one matrix product per block of
queries and similarities lie in [-1, 1]. The index holds only embeddings and ids; the model
(or encoder) is passed again after `load`, and only for adding or searching raw data.

Choices: ids are all integers or all strings, unique in the index; `add` without ids numbers
the new rows from a counter that never reuses a removed id. A zero (or non-finite) embedding
has no direction and is rejected with an error, in the index and in queries. `k` larger than
the index is clipped: a search returns min(k, len(index)) neighbours per query.
"""

from __future__ import annotations

import os
import zipfile
from typing import Any

import numpy as np

from kerasae._atomic import atomic_file
from kerasae._checks import check_int, numbers
from kerasae.protocols import Encodes, condition_kwargs

FORMAT_VERSION = 1
STORED = ("version", "vectors", "ids", "next_id")
# Stored embeddings are unit vectors; float32 rounding leaves their norms within ~1e-6 of 1.
NORM_TOLERANCE = 1e-3
# Elements of the (queries x index) similarity block held at once: 2**24 float32 = 64 MiB.
BLOCK_ELEMENTS = 1 << 24


class LatentIndex:
    """Cosine-similarity index over the codes of `model_or_encoder`.

    `model_or_encoder` is a kerasae model (anything with `encode(x, batch_size=...)`), a Keras
    encoder (anything with `predict`), a callable mapping a batch to codes, or None for an
    index fed only with `add_embeddings` and searched with `search_embeddings`.
    """

    def __init__(self, model_or_encoder: Any = None, *, batch_size: int = 256,
                 block_elements: int = BLOCK_ELEMENTS):
        if model_or_encoder is not None and (
            isinstance(model_or_encoder, (str, bytes, os.PathLike))
            or not (isinstance(model_or_encoder, Encodes) or callable(model_or_encoder))
        ):
            raise ValueError("model_or_encoder must have an encode(x) method, be a Keras "
                             f"model or a callable, or be None; got "
                             f"{type(model_or_encoder).__name__}.")
        self.encoder = model_or_encoder
        self.batch_size = check_int(batch_size, "batch_size")
        self.block_elements = check_int(block_elements, "block_elements")
        self._vectors = np.zeros((0, 0), dtype="float32")
        self._ids = np.zeros(0, dtype="int64")
        self._next_id = 0

    # ----- contents --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        return f"LatentIndex({len(self)} embeddings of dimension {self.dim})"

    @property
    def dim(self) -> int | None:
        """Embedding size, or None before the first add."""
        return self._vectors.shape[1] if self._vectors.shape[1] else None

    @property
    def ids(self) -> np.ndarray:
        """The ids in insertion order (a copy)."""
        return self._ids.copy()

    @property
    def embeddings(self) -> np.ndarray:
        """The stored unit-norm embeddings, one row per id (a copy)."""
        return self._vectors.copy()

    # ----- adding and removing ---------------------------------------------------------

    def add(self, x: Any, ids: Any = None, *, condition: Any = None) -> np.ndarray:
        """Encode a batch of examples and add their codes; returns the ids used."""
        return self.add_embeddings(self._encode(x, condition), ids)

    def add_embeddings(self, z: Any, ids: Any = None) -> np.ndarray:
        """Add precomputed codes (N, dim); returns the ids used (ints from a counter if None)."""
        vectors = self._unit_rows(z, "z")
        new_ids = self._new_ids(ids, len(vectors))
        self._vectors = vectors if len(self) == 0 and self.dim is None else np.concatenate(
            [self._vectors, vectors])
        self._ids = np.concatenate([self._ids, new_ids]) if len(self) else new_ids
        if new_ids.dtype.kind == "i":
            self._next_id = max(self._next_id, int(new_ids.max()) + 1)
        return new_ids.copy()

    def remove(self, ids: Any) -> None:
        """Remove entries by id; ValueError (removing nothing) if any id is not in the index."""
        wanted = np.unique(self._id_array(ids, "ids"))
        if wanted.dtype.kind != self._ids.dtype.kind and len(wanted):
            raise ValueError(f"ids to remove must be of this index's id type "
                             f"({_kind_name(self._ids)}); got {_kind_name(wanted)}.")
        unknown = wanted[~np.isin(wanted, self._ids)]
        if len(unknown):
            raise ValueError(f"cannot remove ids that are not in the index: "
                             f"{_preview(unknown)}; nothing was removed.")
        keep = ~np.isin(self._ids, wanted)
        self._vectors, self._ids = self._vectors[keep], self._ids[keep]

    # ----- searching -------------------------------------------------------------------

    def search(self, queries: Any, k: int = 5, *, condition: Any = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """The k most similar entries to each query example (encoded with the model).

        Returns (ids, similarities), each (Q, min(k, len(self))), sorted by decreasing cosine
        similarity along each row.
        """
        return self.search_embeddings(self._encode(queries, condition), k)

    def search_embeddings(self, z: Any, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """`search` for precomputed query codes (Q, dim)."""
        k = check_int(k, "k")
        if len(self) == 0:
            raise ValueError("the index is empty: add embeddings before searching.")
        queries = self._unit_rows(z, "queries")
        k = min(k, len(self))
        block = max(1, self.block_elements // len(self))
        rows = [self._top_k(queries[i: i + block], k) for i in range(0, len(queries), block)]
        order = np.concatenate([r[0] for r in rows])
        sims = np.concatenate([r[1] for r in rows])
        return self._ids[order], sims

    def _top_k(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row indices and similarities of the k best entries for a block of queries."""
        sims = queries @ self._vectors.T
        if k < sims.shape[1]:
            best = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            best = np.broadcast_to(np.arange(sims.shape[1]), sims.shape)
        best_sims = np.take_along_axis(sims, best, axis=1)
        order = np.argsort(-best_sims, axis=1, kind="stable")
        return np.take_along_axis(best, order, axis=1), np.take_along_axis(best_sims, order, 1)

    # ----- files -----------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> str:
        """Write the embeddings and ids to an .npz file atomically (temporary file, then
        one rename), so a crash never leaves a half-written index; returns the path."""
        path = os.fspath(path)
        with atomic_file(path) as stream:
            np.savez(stream, version=np.int64(FORMAT_VERSION), vectors=self._vectors,
                     ids=self._ids, next_id=np.int64(self._next_id))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, model_or_encoder: Any = None, **kwargs
             ) -> LatentIndex:
        """An index saved with `save`; pass the model again to add or search raw data.

        The whole file is checked before it is used: the four arrays `save` writes and no
        others, finite unit-norm float32 vectors, unique int64 or string ids, one per vector,
        a counter past every integer id. Anything else (a corrupt or truncated archive, a
        folder, arrays that would need unpickling) is one ValueError naming the file; the
        file is never unpickled.
        """
        index = cls(model_or_encoder, **kwargs)
        name = os.fspath(path)
        stored = _read_arrays(name)
        vectors, ids, next_id = _check_stored(name, stored)
        index._vectors, index._ids, index._next_id = vectors, ids, next_id
        return index

    # ----- helpers ---------------------------------------------------------------------

    def _encode(self, x: Any, condition: Any) -> np.ndarray:
        model = self.encoder
        if model is None:
            raise ValueError("this index has no model: pass embeddings to add_embeddings or "
                             "search_embeddings, or build it as LatentIndex(model).")
        if isinstance(model, Encodes):
            return model.encode(x, batch_size=self.batch_size, **condition_kwargs(condition))
        if hasattr(model, "predict"):
            return model.predict(x, batch_size=self.batch_size, verbose=0)
        return model(x)

    def _unit_rows(self, z: Any, what: str) -> np.ndarray:
        """z as float32 rows of unit L2 norm, checked against the index's dimension."""
        z = numbers(z, what, ndim=2)
        if self.dim is not None and z.shape[1] != self.dim:
            raise ValueError(f"{what} must have shape (N, {self.dim}) like the index's "
                             f"embeddings; got {z.shape}.")
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        zero = np.flatnonzero(norms[:, 0] <= np.finfo("float32").tiny)
        if len(zero):
            raise ValueError(f"{what} has {len(zero)} zero-norm row(s) (rows "
                             f"{_preview(zero)}): cosine similarity needs a direction.")
        return (z / norms).astype("float32")

    def _new_ids(self, ids: Any, n: int) -> np.ndarray:
        if ids is None:
            if len(self) and self._ids.dtype.kind != "i":
                raise ValueError("this index has string ids: pass ids=... when adding.")
            return np.arange(self._next_id, self._next_id + n, dtype="int64")
        new = self._id_array(ids, "ids")
        if len(new) != n:
            raise ValueError(f"ids must have one entry per embedding ({n}); got {len(new)}.")
        if len(self) and new.dtype.kind != self._ids.dtype.kind:
            raise ValueError(f"ids must be of this index's id type ({_kind_name(self._ids)}); "
                             f"got {_kind_name(new)}.")
        values, counts = np.unique(new, return_counts=True)
        repeated = values[counts > 1]
        if len(repeated):
            raise ValueError(f"ids must be unique; repeated: {_preview(repeated)}.")
        taken = new[np.isin(new, self._ids)] if len(self) else new[:0]
        if len(taken):
            raise ValueError(f"ids already in the index: {_preview(taken)}; remove them first "
                             "to replace their embeddings.")
        return new

    @staticmethod
    def _id_array(ids: Any, what: str) -> np.ndarray:
        """ids as a 1-D int64 or str array."""
        array = np.atleast_1d(np.asarray(ids))
        if array.ndim != 1:
            raise ValueError(f"{what} must be a 1-D sequence of ints or strings; got shape "
                             f"{array.shape}.")
        if array.dtype.kind in "iu" or array.size == 0:
            return array.astype("int64")
        if array.dtype.kind == "U":
            return array
        raise ValueError(f"{what} must be all integers or all strings; got an array of "
                         f"dtype {array.dtype}.")


def _read_arrays(path: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz file, read without unpickling; ValueError for anything that is
    not a readable .npz archive (a missing file stays FileNotFoundError)."""
    if not os.path.exists(path):
        raise FileNotFoundError(2, "No such LatentIndex file", path)
    if os.path.isdir(path):
        raise ValueError(f"{path} is a folder, not a LatentIndex file written by "
                         "LatentIndex.save.")
    try:
        stored = np.load(path, allow_pickle=False)
        if not isinstance(stored, np.lib.npyio.NpzFile):
            raise ValueError(f"{path} is not a LatentIndex file: it holds a single array, not "
                             "the .npz archive LatentIndex.save writes.")
        with stored:
            return {key: stored[key] for key in stored.files}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile,
            NotImplementedError, RuntimeError) as error:  # zipfile: odd compression, encryption
        if str(error).startswith(path):
            raise
        reason = ("it would need unpickling (Python objects, or not numpy data at all)"
                  if "pickle" in str(error) else f"{type(error).__name__}: {error}")
        raise ValueError(f"{path} is not a readable LatentIndex file ({reason}).") from None


def _check_stored(path: str, stored: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, int]:
    """(vectors, ids, next_id) from the arrays of a saved index, each checked."""
    def corrupt(what: str) -> ValueError:
        return ValueError(f"{path} is not a valid LatentIndex file: {what}.")

    if set(stored) != set(STORED):
        raise corrupt(f"expected the arrays {list(STORED)}; got {sorted(stored)}")
    version, vectors, ids, stored_next_id = (stored[key] for key in STORED)
    for key, value in (("version", version), ("next_id", stored_next_id)):
        if value.shape != () or value.dtype.kind not in "iu":
            raise corrupt(f"{key} must be one integer; got {value.dtype} of shape {value.shape}")
    if int(version) != FORMAT_VERSION:
        raise ValueError(f"{path} has LatentIndex format version {int(version)}; this kerasae "
                         f"reads version {FORMAT_VERSION}.")
    if vectors.ndim != 2 or vectors.dtype != np.float32:
        raise corrupt(f"vectors must be a 2-D float32 array; got {vectors.dtype} of shape "
                      f"{vectors.shape}")
    if ids.ndim != 1 or ids.dtype.kind not in "iuU" or len(ids) != len(vectors):
        raise corrupt(f"ids must be {len(vectors)} integers or strings, one per vector; got "
                      f"{ids.dtype} of shape {ids.shape}")
    if len(vectors) and vectors.shape[1] == 0:
        raise corrupt("vectors have no dimensions")
    bad = np.flatnonzero(~np.all(np.isfinite(vectors), axis=1))
    if len(bad):
        raise corrupt(f"{len(bad)} vector(s) hold NaN or infinity (rows {_preview(bad)})")
    norms = np.linalg.norm(vectors.astype("float64"), axis=1)
    off = np.flatnonzero(np.abs(norms - 1) > NORM_TOLERANCE)
    if len(off):
        raise corrupt(f"vectors must have unit norm; {len(off)} do not (rows {_preview(off)}, "
                      f"norms up to {norms[off].max():.4g})")
    if ids.dtype.kind == "u":
        if len(ids) and ids.max() > np.iinfo("int64").max:
            raise corrupt("ids exceed int64")
        ids = ids.astype("int64")
    values, counts = np.unique(ids, return_counts=True)
    if len(values) != len(ids):
        raise corrupt(f"ids must be unique; repeated: {_preview(values[counts > 1])}")
    next_id = int(stored_next_id)
    if ids.dtype.kind == "i" and len(ids) and next_id <= int(ids.max()):
        raise corrupt(f"next_id {next_id} must be above every id (the largest is "
                      f"{int(ids.max())})")
    if next_id < 0:
        raise corrupt(f"next_id must be >= 0; got {next_id}")
    return vectors, ids, next_id


def _kind_name(array: np.ndarray) -> str:
    return "strings" if array.dtype.kind == "U" else "integers"


def _preview(values: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(repr(v.item()) for v in values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")
