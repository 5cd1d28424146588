"""kerasae.apps.retrieval: the latent index is checked against brute-force cosine ranking."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import kerasae
from kerasae.apps.retrieval import LatentIndex


def brute_force(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int):
    """Top-k ids and cosine similarities, computed in float64 by sorting every similarity."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    sims = q @ unit.T
    order = np.argsort(-sims, axis=1)[:, :k]
    return ids[order], np.take_along_axis(sims, order, axis=1)


def assert_same_neighbours(index: LatentIndex, vectors, ids, queries, k):
    found_ids, found_sims = index.search_embeddings(queries, k)
    want_ids, want_sims = brute_force(vectors, ids, queries, k)
    np.testing.assert_array_equal(found_ids, want_ids)
    np.testing.assert_allclose(found_sims, want_sims, atol=1e-5)
    assert np.all(np.diff(found_sims, axis=1) <= 0)


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(300, 12)), rng.normal(size=(37, 12))


def test_search_matches_brute_force_in_blocks(data):
    vectors, queries = data
    index = LatentIndex(block_elements=300 * 7)  # blocks of 7 queries
    ids = index.add_embeddings(vectors * 3.0)  # scale does not change the cosine
    np.testing.assert_array_equal(ids, np.arange(300))
    assert len(index) == 300 and index.dim == 12
    np.testing.assert_allclose(np.linalg.norm(index.embeddings, axis=1), 1, atol=1e-6)
    for k in (1, 5, 300):
        assert_same_neighbours(index, vectors, ids, queries, k)


def test_add_and_remove_keep_search_exact(data):
    vectors, queries = data
    index = LatentIndex()
    index.add_embeddings(vectors[:200])
    gone = np.random.default_rng(0).choice(200, size=80, replace=False)
    index.remove(gone)
    added = index.add_embeddings(vectors[200:])
    np.testing.assert_array_equal(added, np.arange(200, 300))  # ids are never reused
    alive = np.setdiff1d(np.arange(300), gone)
    np.testing.assert_array_equal(np.sort(index.ids), alive)
    assert_same_neighbours(index, vectors[alive], alive, queries, 8)
    found, _ = index.search_embeddings(vectors[gone], 220)
    assert not np.isin(found, gone).any()


def test_k_is_clipped_to_the_index_size():
    index = LatentIndex()
    index.add_embeddings(np.eye(3), ids=["a", "b", "c"])
    ids, sims = index.search_embeddings([[1.0, 0.5, 0.0]], k=10)
    assert ids.shape == sims.shape == (1, 3)
    assert ids.tolist() == [["a", "b", "c"]]
    np.testing.assert_allclose(sims[0], [1 / np.sqrt(1.25), 0.5 / np.sqrt(1.25), 0], atol=1e-6)


def test_clear_errors():
    index = LatentIndex()
    with pytest.raises(ValueError, match="empty"):
        index.search_embeddings(np.ones((1, 2)))
    index.add_embeddings(np.eye(3), ids=[10, 11, 12])
    with pytest.raises(ValueError, match="already in the index: 11"):
        index.add_embeddings(np.ones((1, 3)), ids=[11])
    with pytest.raises(ValueError, match="unique; repeated: 5"):
        index.add_embeddings(np.ones((2, 3)), ids=[5, 5])
    with pytest.raises(ValueError, match="not in the index: 99"):
        index.remove([10, 99])
    assert len(index) == 3  # nothing removed
    with pytest.raises(ValueError, match=r"zero-norm row\(s\) \(rows 1\)"):
        index.add_embeddings([[1.0, 0, 0], [0, 0, 0]], ids=[1, 2])
    with pytest.raises(ValueError, match="zero-norm"):
        index.search_embeddings(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        index.add_embeddings(np.ones((1, 4)))
    with pytest.raises(ValueError, match="id type"):
        index.add_embeddings(np.ones((1, 3)), ids=["x"])
    with pytest.raises(ValueError, match="one entry per embedding"):
        index.add_embeddings(np.ones((2, 3)), ids=[1])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        index.search_embeddings(np.ones((1, 3)), k=0)
    with pytest.raises(ValueError, match="no model"):
        index.add(np.ones((1, 3)))
    assert len(index) == 3


def test_save_and_load_round_trip(tmp_path, data):
    vectors, queries = data
    index = LatentIndex()
    index.add_embeddings(vectors[:50])
    index.remove([3, 49])
    path = tmp_path / "index.npz"
    assert index.save(path) == str(path)
    index.save(path)  # overwriting is fine
    assert os.listdir(tmp_path) == ["index.npz"]  # no temporary file left
    back = LatentIndex.load(path)
    np.testing.assert_array_equal(back.ids, index.ids)
    np.testing.assert_array_equal(back.embeddings, index.embeddings)
    for a, b in zip(back.search_embeddings(queries, 4), index.search_embeddings(queries, 4),
                    strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.add_embeddings(vectors[50:52]), [50, 51])


def test_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    index = LatentIndex()
    index.add_embeddings(np.eye(2))
    path = tmp_path / "index.npz"
    index.save(path)
    before = path.read_bytes()
    index.add_embeddings(np.ones((1, 2)))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        index.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["index.npz"]


def _saved(tmp_path, **changes):
    """A valid saved index (3 unit vectors, int ids) with some arrays replaced."""
    arrays = {"version": np.int64(1), "vectors": np.eye(3, dtype="float32"),
              "ids": np.array([0, 1, 2]), "next_id": np.int64(3), **changes}
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path = tmp_path / "index.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(("changes", "message"), [
    ({"vectors": np.array([[1, 0, 0], [0, np.nan, 0], [0, 0, 1]], "float32")}, "NaN"),
    ({"vectors": np.eye(3, dtype="float32") * 12.1}, "unit norm"),
    ({"vectors": np.eye(3)}, "float32"),
    ({"ids": np.array([0, 1, 1])}, "unique"),
    ({"ids": np.array([0, 1])}, "one per vector"),
    ({"ids": np.array([0.0, 1.0, 2.0])}, "integers or strings"),
    ({"next_id": np.int64(2)}, "next_id 2 must be above"),
    ({"next_id": None}, "expected the arrays"),
    ({"extra": np.ones(2)}, "expected the arrays"),
    ({"version": np.int64(7)}, "version 7"),
    ({"vectors": np.ones((3, 3, 1), "float32")}, "2-D"),
])
def test_load_checks_the_whole_file(tmp_path, changes, message):
    path = _saved(tmp_path, **changes)
    with pytest.raises(ValueError, match=message) as error:
        LatentIndex.load(path)
    assert str(path) in str(error.value)


def test_load_refuses_malformed_files_with_one_error(tmp_path):
    good = _saved(tmp_path)
    assert len(LatentIndex.load(good)) == 3
    data = good.read_bytes()
    cases = {"truncated.npz": data[: len(data) // 2], "empty.npz": b"", "text.npz": b"hello",
             "garbage.npz": bytes(range(256)) * 4}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    np.save(tmp_path / "bare.npy", np.ones(3))
    np.savez(tmp_path / "objects.npz", version=np.int64(1), ids=np.array([{"a": 1}], object),
             vectors=np.eye(1, dtype="float32"), next_id=np.int64(1))
    (tmp_path / "folder.npz").mkdir()
    for name in [*cases, "bare.npy", "objects.npz", "folder.npz"]:
        with pytest.raises(ValueError, match="LatentIndex") as error:
            LatentIndex.load(tmp_path / name)
        assert name in str(error.value), name
    with pytest.raises(ValueError, match="unpickling"):
        LatentIndex.load(tmp_path / "objects.npz")
    with pytest.raises(FileNotFoundError):
        LatentIndex.load(tmp_path / "missing.npz")


@pytest.mark.parametrize("bad", ["a string", b"bytes", 3, Path("model.keras")])
def test_constructor_wants_a_model(bad):
    with pytest.raises(ValueError, match="model_or_encoder"):
        LatentIndex(bad)


def test_model_encoder_and_callable_agree():
    model = kerasae.build("ae", input_shape=(8,), latent_dim=4, hidden_units=(16,))
    x = np.random.default_rng(5).uniform(0, 1, size=(60, 8)).astype("float32")
    z = model.encode(x)
    by_model, by_keras, by_function = (LatentIndex(m) for m in
                                       (model, model.encoder, lambda batch: model.encode(batch)))
    for index in (by_model, by_keras, by_function):
        index.add(x[:50])
        np.testing.assert_allclose(index.embeddings, by_model.embeddings, atol=1e-5)
    ids, sims = by_model.search(x[:10], k=3)
    np.testing.assert_array_equal(ids[:, 0], np.arange(10))  # each example finds itself
    np.testing.assert_allclose(sims[:, 0], 1, atol=1e-5)
    want_ids, _ = brute_force(z[:50], np.arange(50), z[50:], 3)
    np.testing.assert_array_equal(by_model.search(x[50:], k=3)[0], want_ids)
