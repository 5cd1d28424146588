"""kerasae.data: folder resolution, hash and shape checks, every loader on small fake files in the
published layouts, the window / patch / whitening helpers, and the dSprites generator.

Nothing here needs ../shared or the network: each test writes the files it reads."""

from __future__ import annotations

import ast
import gzip
import hashlib
import json
import struct
import sys
import tracemalloc
import types
from pathlib import Path

import numpy as np
import pytest

from kerasae.data import (
    LICENCES,
    DSprites,
    _files,
    as_sequences,
    binarize,
    dsprites,
    ecg,
    ecg5000_anomaly_split,
    faces,
    from_tfds,
    load_cbcl_faces,
    load_celeba64,
    load_ecg200,
    load_ecg5000,
    load_mnist,
    load_mnist_sample,
    load_mnist_tfds,
    load_nab,
    load_natural_images,
    load_olivetti,
    mnist,
    nab,
    natural_images,
    point_labels,
    read_idx,
    sample_patches,
    sliding_windows,
    ufldl_normalize,
    whiten,
    window_labels,
)


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch):
    """Tests see no data folders from the environment unless they set one."""
    monkeypatch.delenv(_files.ROOT_ENV_VAR, raising=False)
    for source in (
        mnist.MNIST,
        faces.CELEBA64,
        faces.OLIVETTI,
        faces.CBCL,
        ecg.ECG5000,
        ecg.ECG200,
        nab.NAB,
        natural_images.NATURAL_IMAGES,
    ):
        monkeypatch.delenv(source.env_var, raising=False)


def trust(monkeypatch, source, folder, names=None):
    """Point the known-hash table of `source` at the fake files just written."""
    for name in names or [p.name for p in folder.iterdir()]:
        monkeypatch.setitem(source.sha256, name, _files.file_sha256(folder / name))


# ----- the shared helper -----------------------------------------------------------------------


def test_folder_comes_from_argument_then_env_var_then_root(tmp_path, monkeypatch):
    own, root = tmp_path / "own", tmp_path / "root"
    (root / "mnist").mkdir(parents=True)
    own.mkdir()
    assert _files.data_dir(mnist.MNIST, own) == own
    monkeypatch.setenv("KERASAE_DATA_DIR", str(root))
    assert _files.data_dir(mnist.MNIST) == root / "mnist"
    monkeypatch.setenv("KERASAE_MNIST_DIR", str(own))
    assert _files.data_dir(mnist.MNIST) == own
    assert _files.data_dir(mnist.MNIST, root / "mnist") == root / "mnist"
    assert faces.CELEBA64.env_var == "KERASAE_CELEBA_DIR"


def test_no_folder_and_missing_folder_say_how_to_set_one(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"KERASAE_MNIST_DIR.*KERASAE_DATA_DIR"):
        load_mnist()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_ecg5000(tmp_path / "nowhere")


def test_missing_file_names_file_folder_and_env_var(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_olivetti(tmp_path)
    message = str(info.value)
    assert "olivetti.npz" in message and str(tmp_path) in message
    assert "KERASAE_OLIVETTI_DIR" in message
    with pytest.raises(FileNotFoundError, match=r"train\.npz.*KERASAE_MNIST_DIR"):
        load_mnist(tmp_path)


def test_wrong_sha256_names_file_and_both_hashes(tmp_path, monkeypatch):
    _write_olivetti(tmp_path)
    actual = _files.file_sha256(tmp_path / "olivetti.npz")
    with pytest.raises(ValueError) as info:
        load_olivetti(tmp_path)  # the fake is not the published file
    message = str(info.value)
    assert "olivetti.npz" in message and actual in message
    assert faces.OLIVETTI.sha256["olivetti.npz"] in message
    trust(monkeypatch, faces.OLIVETTI, tmp_path)
    x, _ = load_olivetti(tmp_path)
    assert x.shape == (400, 64, 64, 1)
    assert load_olivetti(tmp_path, verify=False)[0].shape == (400, 64, 64, 1)


def test_check_array_says_expected_and_got():
    _files.check_array(np.zeros((3, 28, 28), np.uint8), "x", shape=(None, 28, 28), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"expected uint8 \(N, 28, 28\); got uint8 \(3, 27, 28\)"):
        _files.check_array(
            np.zeros((3, 27, 28), np.uint8), "x", shape=(None, 28, 28), dtype=np.uint8
        )
    with pytest.raises(ValueError, match="expected floating.*got int64"):
        _files.check_array(np.zeros(3, np.int64), "x", dtype="f")


def test_licences_are_recorded_for_every_dataset():
    for name in (
        "mnist",
        "celeba64",
        "faces_olivetti",
        "faces_cbcl",
        "ecg5000",
        "ecg200",
        "nab",
        "natural_images_hyvarinen",
        "dsprites",
        "mnist_sample",
    ):
        assert len(LICENCES[name]) > 40, name
    assert "non-commercial" in LICENCES["celeba64"]


# ----- MNIST -----------------------------------------------------------------------------------


@pytest.fixture
def small_mnist(monkeypatch):
    """MNIST with 6 training and 4 test digits, so fake files stay tiny."""
    monkeypatch.setitem(mnist._COUNTS, "train", 6)
    monkeypatch.setitem(mnist._COUNTS, "test", 4)
    rng = np.random.default_rng(0)
    return {
        split: (
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, n).astype(np.uint8),
        )
        for split, n in (("train", 6), ("test", 4))
    }


def _idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """An IDX file written by hand (not by kerasae): magic, big-endian sizes, data."""
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _write_idx_files(folder, data, compress=False):
    names = {
        "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }
    for split, (x, y) in data.items():
        for name, array, magic in zip(names[split], (x, y), (2051, 2049), strict=True):
            raw = _idx_bytes(array, magic)
            if compress:
                (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
            else:
                (folder / name).write_bytes(raw)


def _check_mnist(loaded, data):
    for (x, y), split in zip(loaded, ("train", "test"), strict=True):
        assert x.dtype == np.float32 and x.shape == (len(data[split][0]), 28, 28, 1)
        np.testing.assert_array_equal(np.round(x[..., 0] * 255), data[split][0])
        np.testing.assert_array_equal(y, data[split][1])


def test_mnist_from_npz(tmp_path, monkeypatch, small_mnist):
    for split, (x, y) in small_mnist.items():
        np.savez(tmp_path / f"{split}.npz", x=x, y=y)
    trust(monkeypatch, mnist.MNIST, tmp_path)
    _check_mnist(load_mnist(tmp_path), small_mnist)
    monkeypatch.setenv("KERASAE_MNIST_DIR", str(tmp_path))
    _check_mnist(load_mnist(), small_mnist)


def test_mnist_npz_with_wrong_shape_or_keys(tmp_path, small_mnist):
    x, y = small_mnist["train"]
    np.savez(tmp_path / "train.npz", x=x[:, :27], y=y)
    np.savez(tmp_path / "test.npz", images=small_mnist["test"][0])
    with pytest.raises(ValueError, match=r"expected uint8 \(6, 28, 28\); got uint8 \(6, 27, 28\)"):
        load_mnist(tmp_path, verify=False)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    with pytest.raises(ValueError, match=r"missing \['x', 'y'\]"):
        load_mnist(tmp_path, verify=False)


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_from_idx_files(tmp_path, monkeypatch, small_mnist, compress):
    _write_idx_files(tmp_path, small_mnist, compress)
    for split, (x, y) in small_mnist.items():  # the known hashes are of the IDX content
        prefix = "train" if split == "train" else "t10k"
        for kind, array, magic in (("images-idx3", x, 2051), ("labels-idx1", y, 2049)):
            content = _idx_bytes(array, magic)
            monkeypatch.setitem(
                mnist.MNIST.sha256, f"{prefix}-{kind}-ubyte", hashlib.sha256(content).hexdigest()
            )
    _check_mnist(load_mnist(tmp_path), small_mnist)
    monkeypatch.setitem(mnist.MNIST.sha256, "t10k-labels-idx1-ubyte", "0" * 64)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.*expected 0{64}, got"):
        load_mnist(tmp_path)


def test_idx_magic_numbers_and_sizes_are_checked(tmp_path, small_mnist):
    x, y = small_mnist["train"]
    (tmp_path / "images").write_bytes(_idx_bytes(x, 2051))
    assert read_idx(tmp_path / "images", magic=2051).shape == (6, 28, 28)
    with pytest.raises(ValueError, match=r"expected IDX magic number 2049 .* got 2051"):
        read_idx(tmp_path / "images", magic=2049)
    (tmp_path / "short").write_bytes(_idx_bytes(x, 2051)[:-5])
    with pytest.raises(ValueError, match="header says shape"):
        read_idx(tmp_path / "short")
    (tmp_path / "junk").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "junk")
    # images and labels swapped: the labels file carries the images' magic number
    data = dict(small_mnist)
    _write_idx_files(tmp_path, data)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(x, 2051))
    with pytest.raises(ValueError, match="magic number 2049"):
        load_mnist(tmp_path, verify=False)
    wide = np.arange(6, dtype=">i4").reshape(2, 3)  # other IDX types parse too
    (tmp_path / "ints").write_bytes(
        struct.pack(">I", 0x0C02) + struct.pack(">2I", 2, 3) + wide.tobytes()
    )
    np.testing.assert_array_equal(read_idx(tmp_path / "ints"), wide)


def test_mnist_write_idx_round_trip(tmp_path, small_mnist):
    x = small_mnist["test"][0]
    mnist.write_idx(tmp_path / "a.gz", x)
    assert gzip.decompress((tmp_path / "a.gz").read_bytes()) == _idx_bytes(x, 2051)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz", magic=2051), x)


def test_mnist_sample_still_loads():
    (x, y), (x_test, y_test) = load_mnist_sample()
    assert x.shape == (2000, 28, 28, 1) and x.dtype == np.float32 and 0 <= x.min() <= x.max() <= 1
    assert y.shape == (2000,) and x_test.shape == (500, 28, 28, 1) and y_test.shape == (500,)


def test_mnist_tfds_without_tfds_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import fails
    with pytest.raises(ImportError, match="pip install tensorflow-datasets"):
        load_mnist_tfds("/nowhere")


def test_mnist_tfds_loads_offline_from_data_dir(monkeypatch):
    calls = {}
    rng = np.random.default_rng(0)
    splits = [
        (rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8), np.arange(n) % 10) for n in (5, 3)
    ]

    def load(name, **kwargs):
        calls.update(kwargs, name=name)
        return splits

    fake = types.SimpleNamespace(load=load, as_numpy=lambda tree: tree)
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake)
    (x, y), (x_test, y_test) = load_mnist_tfds("/prepared")
    assert calls["name"] == "mnist" and calls["data_dir"] == "/prepared"
    assert calls["download"] is False
    assert x.shape == (5, 28, 28, 1) and x.dtype == np.float32 and x.max() <= 1
    assert y.dtype == np.uint8 and x_test.shape == (3, 28, 28, 1) and len(y_test) == 3


def test_binarize_is_bernoulli_with_a_fixed_seed():
    x = np.random.default_rng(1).random((200, 28, 28, 1)).astype(np.float32)
    a, b = binarize(x, seed=3), binarize(x, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.shape == x.shape and set(np.unique(a)) <= {0.0, 1.0}
    assert not np.array_equal(a, binarize(x, seed=4))
    assert abs(a.mean() - x.mean()) < 0.01
    np.testing.assert_array_equal(binarize(np.array([0.0, 1.0])), [0.0, 1.0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        binarize(np.array([0, 255]))


# ----- faces -----------------------------------------------------------------------------------


def _write_olivetti(folder, x_dtype=np.uint8):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 243, (400, 64, 64)).astype(x_dtype)
    np.savez(folder / "olivetti.npz", x=x, y=np.repeat(np.arange(40), 10))
    return x


def test_celeba64_shards_identities_and_range(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    sizes = {"train_0.npz": 3, "train_1.npz": 2, "train_2.npz": 4, "test.npz": 2}
    written = {}
    for name, n in sizes.items():
        x = rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
        ids = rng.integers(0, 100, n).astype(np.int32)
        np.savez(tmp_path / name, x=x, image_id=np.arange(n, dtype=np.int32), identity=ids)
        written[name] = (x, ids)
    trust(monkeypatch, faces.CELEBA64, tmp_path)
    (x, ids), (x_test, ids_test) = load_celeba64(tmp_path)
    assert x.shape == (9, 64, 64, 3) and x.dtype == np.float32 and 0 <= x.min() <= x.max() <= 1
    np.testing.assert_array_equal(np.round(x[3:5] * 255), written["train_1.npz"][0])
    np.testing.assert_array_equal(
        ids, np.concatenate([written[f"train_{k}.npz"][1] for k in range(3)])
    )
    assert ids.dtype == np.int64 and x_test.shape == (2, 64, 64, 3) and len(ids_test) == 2
    (tmp_path / "train_2.npz").unlink()
    with pytest.raises(FileNotFoundError, match=r"train_2\.npz.*KERASAE_CELEBA_DIR"):
        load_celeba64(tmp_path)


def test_olivetti_and_cbcl(tmp_path, monkeypatch):
    raw = _write_olivetti(tmp_path)
    np.savez(tmp_path / "cbcl_faces.npz", x=np.full((2429, 19, 19), 255, np.uint8))
    trust(monkeypatch, faces.OLIVETTI, tmp_path, ["olivetti.npz"])
    trust(monkeypatch, faces.CBCL, tmp_path, ["cbcl_faces.npz"])
    x, y = load_olivetti(tmp_path)
    assert x.shape == (400, 64, 64, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[..., 0], raw / 255.0, rtol=1e-6)
    assert y.dtype == np.int64 and list(np.bincount(y)) == [10] * 40
    monkeypatch.setenv("KERASAE_DATA_DIR", str(tmp_path.parent))
    cbcl = load_cbcl_faces(tmp_path)
    assert cbcl.shape == (2429, 19, 19, 1) and cbcl.max() == 1.0


def test_faces_wrong_dtype_says_expected_and_got(tmp_path):
    _write_olivetti(tmp_path, np.float64)
    with pytest.raises(ValueError, match=r"expected uint8 \(400, 64, 64\); got float64"):
        load_olivetti(tmp_path, verify=False)


# ----- ECG -------------------------------------------------------------------------------------


def _ecg5000(folder):
    rng = np.random.default_rng(0)
    y = np.repeat([1, 2, 3, 4, 5], [292, 177, 10, 19, 2])
    rng.shuffle(y)
    x = rng.normal(size=(500, 140)) + y[:, None]
    np.savez(folder / "train.npz", x=x, y=y)
    return x, y


def test_ecg5000_and_ecg200(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    raw, labels = _ecg5000(tmp_path / "a")
    for split in ("train", "test"):
        np.savez(
            tmp_path / "b" / f"{split}.npz",
            x=np.ones((100, 96)),
            y=np.where(np.arange(100) % 3, 1, -1),
        )
    trust(monkeypatch, ecg.ECG5000, tmp_path / "a")
    trust(monkeypatch, ecg.ECG200, tmp_path / "b")
    x, y = load_ecg5000(tmp_path / "a")
    assert x.shape == (500, 140) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x, raw, rtol=1e-6)
    assert set(np.unique(y)) == {1, 2, 3, 4, 5}
    (x_train, y_train), (x_test, y_test) = load_ecg200(tmp_path / "b")
    assert x_train.shape == x_test.shape == (100, 96) and set(np.unique(y_test)) == {-1, 1}
    assert as_sequences(x).shape == (500, 140, 1) and as_sequences(x).dtype == np.float32
    with pytest.raises(ValueError, match="timesteps"):
        as_sequences(np.zeros(5))
    np.savez(tmp_path / "a" / "train.npz", x=np.zeros((500, 141)), y=labels)
    with pytest.raises(
        ValueError, match=r"expected floating \(500, 140\); got float64 \(500, 141\)"
    ):
        load_ecg5000(tmp_path / "a", verify=False)


def test_ecg_anomaly_split_trains_on_normals_only(tmp_path):
    x, y = _ecg5000(tmp_path)
    split = ecg5000_anomaly_split(x, y, test_fraction=0.25, seed=0)
    assert set(y[split.train_index]) == {1}
    assert not set(split.train_index) & set(split.test_index)
    assert len(split.train_index) + len(split.test_index) == len(y)  # every beat used once
    np.testing.assert_array_equal(split.y_test, (y[split.test_index] != 1).astype(int))
    assert split.y_test.sum() == (y != 1).sum()  # every abnormal beat is in the test set
    assert (split.y_test == 0).sum() == round(0.25 * 292)
    np.testing.assert_array_equal(split.x_train, x[split.train_index])
    np.testing.assert_array_equal(split.x_test, x[split.test_index])
    again = ecg5000_anomaly_split(x, y, test_fraction=0.25, seed=0)
    np.testing.assert_array_equal(again.test_index, split.test_index)
    other = ecg5000_anomaly_split(x, y, test_fraction=0.25, seed=1)
    assert not np.array_equal(other.train_index, split.train_index)
    with pytest.raises(ValueError, match="test_fraction"):
        ecg5000_anomaly_split(x, y, test_fraction=1.0)


# ----- NAB -------------------------------------------------------------------------------------


def _write_nab(folder):
    start = 1396828800  # 2014-04-07 00:00:00 UTC
    t = start + 300 * np.arange(50, dtype=np.int64)
    arrays = {
        "realKnownCause__nyc_taxi__timestamp": t,
        "realKnownCause__nyc_taxi__value": np.sin(np.arange(50.0)),
        "artificialNoAnomaly__art_flatline__timestamp": t[:20],
        "artificialNoAnomaly__art_flatline__value": np.zeros(20),
    }
    np.savez(folder / "nab_series.npz", **arrays)
    windows = {
        "realKnownCause/nyc_taxi.csv": [
            ["2014-04-07 00:50:00.000000", "2014-04-07 01:10:00.000000"]
        ],
        "artificialNoAnomaly/art_flatline.csv": [],
    }
    (folder / "combined_windows.json").write_text(json.dumps(windows))
    return t


def test_nab_series_and_windows(tmp_path, monkeypatch):
    t = _write_nab(tmp_path)
    trust(monkeypatch, nab.NAB, tmp_path)
    series = load_nab(tmp_path)
    assert sorted(series) == ["artificialNoAnomaly/art_flatline.csv", "realKnownCause/nyc_taxi.csv"]
    taxi = series["realKnownCause/nyc_taxi.csv"]
    timestamps, values, windows = taxi
    np.testing.assert_array_equal(timestamps, t)
    assert timestamps.dtype == np.int64 and values.dtype == np.float32 and len(values) == 50
    assert windows == [(1396828800 + 3000, 1396828800 + 4200)]
    assert series["artificialNoAnomaly/art_flatline.csv"].windows == []
    one = load_nab(tmp_path, "realKnownCause/nyc_taxi.csv")
    assert list(one) == ["realKnownCause/nyc_taxi.csv"]
    with pytest.raises(KeyError, match="nyc_taxi"):
        load_nab(tmp_path, "realKnownCause/nyc_taxis.csv")
    labels = point_labels(timestamps, windows)
    assert labels.dtype == np.int64 and list(np.flatnonzero(labels)) == [10, 11, 12, 13, 14]


def _naive_windows(values, window, stride):
    return np.array([values[i : i + window] for i in range(0, len(values) - window + 1, stride)])


@pytest.mark.parametrize("window,stride", [(1, 1), (5, 1), (7, 3), (20, 20)])
def test_sliding_windows_match_a_loop(window, stride):
    values = np.random.default_rng(0).normal(size=41).astype(np.float32)
    got = sliding_windows(values, window, stride)
    np.testing.assert_array_equal(got, _naive_windows(values, window, stride))
    multi = np.random.default_rng(1).normal(size=(41, 3))
    got = sliding_windows(multi, window, stride)
    assert got.shape == (len(_naive_windows(multi, window, stride)), window, 3)
    np.testing.assert_array_equal(got, _naive_windows(multi, window, stride))
    assert np.shares_memory(sliding_windows(values, window, stride), values)  # a view, no copy


def test_sliding_windows_errors():
    with pytest.raises(ValueError, match="longer than the series"):
        sliding_windows(np.zeros(3), 4)
    with pytest.raises(ValueError, match="positive"):
        sliding_windows(np.zeros(3), 2, stride=0)


def test_window_labels_mark_windows_overlapping_an_anomaly():
    t = np.arange(100, 200, dtype=np.int64)  # one step per second
    windows = [(130, 134), (180, 180)]
    points = point_labels(t, windows)
    assert list(np.flatnonzero(points)) == [30, 31, 32, 33, 34, 80]
    for window, stride in [(1, 1), (10, 1), (10, 5), (25, 7)]:
        got = window_labels(t, windows, window, stride)
        naive = [int(points[i : i + window].any()) for i in range(0, len(t) - window + 1, stride)]
        np.testing.assert_array_equal(got, naive)
        assert len(got) == len(sliding_windows(t, window, stride))
    assert not window_labels(t, [], 10, 5).any()


# ----- natural image patches ------------------------------------------------------------------


def test_natural_images_and_patches(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    shapes = [(256, 512)] * 9 + [(512, 256)] * 4
    np.savez(
        tmp_path / "images.npz",
        **{f"img{i + 1:02d}": rng.integers(0, 256, s, np.uint8) for i, s in enumerate(shapes)},
    )
    trust(monkeypatch, natural_images.NATURAL_IMAGES, tmp_path)
    images = load_natural_images(tmp_path)
    assert len(images) == 13 and [im.shape for im in images] == shapes
    assert all(im.dtype == np.float32 and im.min() >= 0 and im.max() <= 1 for im in images)
    patches = sample_patches(images, 500, patch_size=10, seed=0)
    assert patches.shape == (500, 10, 10) and patches.dtype == np.float32
    assert patches.min() >= 0 and patches.max() <= 1
    np.testing.assert_array_equal(patches, sample_patches(images, 500, patch_size=10, seed=0))
    assert not np.array_equal(patches, sample_patches(images, 500, patch_size=10, seed=1))


def test_patches_are_contiguous_blocks_of_the_images():
    ramp = np.arange(40 * 60, dtype=np.float64).reshape(40, 60)  # value = row * 60 + col
    patches = sample_patches([ramp, ramp + 10_000], 50, patch_size=8, seed=2)
    top_left = patches[:, :1, :1]
    expected = top_left + 60 * np.arange(8)[:, None] + np.arange(8)[None, :]
    np.testing.assert_array_equal(patches, expected)
    assert (patches[:, 0, 0] >= 10_000).any() and (patches[:, 0, 0] < 10_000).any()
    with pytest.raises(ValueError, match="at least 8"):
        sample_patches([np.zeros((5, 50))], 3, patch_size=8)


@pytest.mark.parametrize("method", ["zca", "pca"])
def test_whitening_gives_identity_covariance(method):
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(16, 16))
    patches = (rng.normal(size=(4000, 16)) @ mixing).reshape(4000, 4, 4) + 3.0
    white, transform = whiten(patches, method=method, epsilon=1e-9)
    assert white.shape == patches.shape and white.dtype == np.float32
    flat = white.reshape(len(white), -1).astype(np.float64)
    np.testing.assert_allclose(flat.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(np.cov(flat, rowvar=False, bias=True), np.eye(16), atol=1e-3)
    np.testing.assert_allclose(transform(patches), white, atol=1e-4)  # applies to new data
    np.testing.assert_allclose(transform.inverse(white), patches, atol=1e-3)
    if method == "zca":
        np.testing.assert_allclose(transform.matrix, transform.matrix.T, atol=1e-8)
    smooth, _ = whiten(patches, method=method, epsilon=1.0)  # regularised: variances below 1
    assert np.var(smooth.reshape(4000, -1), axis=0).max() < 1.0
    with pytest.raises(ValueError, match="method"):
        whiten(patches, method="ica")


def test_ufldl_normalisation_maps_into_sigmoid_range():
    patches = np.random.default_rng(0).normal(size=(300, 10, 10)) * 5 + 100
    out = ufldl_normalize(patches)
    assert out.shape == patches.shape and out.dtype == np.float32
    assert out.min() >= 0.1 - 1e-6 and out.max() <= 0.9 + 1e-6
    assert out.min() < 0.2 and out.max() > 0.8
    np.testing.assert_allclose(np.median(out), 0.5, atol=0.01)  # DC removed, centred at 0.5
    std = float((patches - patches.mean(axis=(1, 2), keepdims=True)).std())
    np.testing.assert_allclose(ufldl_normalize(patches[:7], std=std), out[:7], atol=1e-6)


# ----- dSprites --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sprites():
    return DSprites()


def _classes(shape=0, scale=5, orientation=0, x=16, y=16):
    return np.array([0, shape, scale, orientation, x, y])


def test_dsprites_factor_grid_and_ordering(sprites):
    assert len(sprites) == 737_280 == 3 * 6 * 40 * 32 * 32
    assert sprites.latent_sizes == (1, 3, 6, 40, 32, 32)
    assert sprites.latent_names == ("color", "shape", "scale", "orientation", "posX", "posY")
    classes, values = sprites.factors([0, 1, 32, 1024, 40960, 245760, 737279])
    np.testing.assert_array_equal(
        classes,
        [
            [0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 1, 0],
            [0, 0, 0, 1, 0, 0],
            [0, 0, 1, 0, 0, 0],
            [0, 1, 0, 0, 0, 0],
            [0, 2, 5, 39, 31, 31],
        ],
    )
    assert classes.dtype == np.int64 and values.dtype == np.float64
    np.testing.assert_array_equal(values[0], [1, 1, 0.5, 0, 0, 0])
    np.testing.assert_allclose(values[-1], [1, 3, 1, 2 * np.pi, 1, 1])
    possible = sprites.latents_possible_values
    np.testing.assert_array_equal(possible["scale"], np.linspace(0.5, 1, 6))
    np.testing.assert_array_equal(possible["orientation"], np.linspace(0, 2 * np.pi, 40))
    np.testing.assert_array_equal(possible["posX"], np.linspace(0, 1, 32))
    np.testing.assert_array_equal(possible["shape"], [1.0, 2.0, 3.0])
    index = np.random.default_rng(0).integers(0, len(sprites), 1000)
    classes, values = sprites.factors(index)
    np.testing.assert_array_equal(sprites.index_of(classes), index)
    for j, name in enumerate(sprites.latent_names):  # values are the class's value
        np.testing.assert_array_equal(values[:, j], possible[name][classes[:, j]])
    # the published latent_to_index: dot with bases from the reversed cumulative product
    sizes = np.array(sprites.latent_sizes)
    bases = np.concatenate((sizes[::-1].cumprod()[::-1][1:], np.array([1])))
    np.testing.assert_array_equal(np.dot(classes, bases), index)
    with pytest.raises(ValueError, match="orientation"):
        sprites.index_of(_classes(orientation=40))
    with pytest.raises(IndexError):
        sprites.images([737_280])


def test_dsprites_images_are_binary_and_respond_to_each_factor(sprites):
    def image(**kw):
        return sprites.images([sprites.index_of(_classes(**kw))])[0]

    sample = sprites.sample(64, seed=0)
    assert sample.images.shape == (64, 64, 64) and sample.images.dtype == np.uint8
    assert set(np.unique(sample.images)) <= {0, 1} and sample.images.sum(axis=(1, 2)).min() > 20
    np.testing.assert_array_equal(sample.images, sprites.images(sample.indices))
    np.testing.assert_array_equal(sample.classes, sprites.factors(sample.indices).classes)
    for shape in range(3):
        areas = [image(shape=shape, scale=s).sum() for s in range(6)]
        assert (np.diff(areas) > 0).all(), areas  # a larger scale covers more pixels
        assert not np.array_equal(image(shape=shape), image(shape=shape, orientation=5))
        # orientation 39 is 2 pi: the same picture as 0, as in the published grid
        np.testing.assert_array_equal(image(shape=shape), image(shape=shape, orientation=39))
    assert not np.array_equal(image(shape=2), image(shape=2, orientation=20))  # upside down
    square, ellipse, heart = (image(shape=s) for s in range(3))
    assert not np.array_equal(square, ellipse) and not np.array_equal(ellipse, heart)
    assert not np.array_equal(square, heart)

    def centre(img):
        rows, cols = np.nonzero(img)
        return rows.mean(), cols.mean()

    left, right = centre(image(shape=2, x=3)), centre(image(shape=2, x=20))
    np.testing.assert_allclose(right[1] - left[1], 17, atol=1e-9)  # one pixel per posX step
    assert right[0] == left[0]
    top, bottom = centre(image(shape=1, y=0)), centre(image(shape=1, y=31))
    assert bottom[0] - top[0] == pytest.approx(31) and bottom[1] == top[1]
    for corner in ((0, 0), (31, 31)):  # the largest sprites stay inside the frame
        for shape in range(3):
            img = image(shape=shape, orientation=5, x=corner[0], y=corner[1])
            assert img[0].sum() == img[-1].sum() == img[:, 0].sum() == img[:, -1].sum() == 0


def test_dsprites_ground_truth_protocol(sprites):
    assert sprites.num_factors == 5 and sprites.factor_sizes == [3, 6, 40, 32, 32]
    factors = sprites.sample_factors(10, np.random.default_rng(0))
    assert factors.shape == (10, 5) and (factors < np.array(sprites.factor_sizes)).all()
    x = sprites.images_from_factors(factors)
    assert x.shape == (10, 64, 64, 1) and x.dtype == np.float32
    full = np.concatenate([np.zeros((10, 1), int), factors], axis=1)
    np.testing.assert_array_equal(x[..., 0], sprites.images(sprites.index_of(full)))


def test_dsprites_streams_batches_without_rendering_everything(sprites):
    tracemalloc.start()
    try:
        data = DSprites()
        batches = data.batches(batch_size=32, seed=0, steps_per_epoch=5)
        x = batches[0]
        generator = data.iter_batches(batch_size=16, seed=1, with_factors=True)
        gx, gy = next(generator)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20  # one epoch's permutation and a few batches, not 3 GB of images
    assert len(batches) == 5 and x.shape == (32, 64, 64, 1) and x.dtype == np.float32
    assert gx.shape == (16, 64, 64, 1) and gy.shape == (16, 6)
    np.testing.assert_array_equal(batches[0], x)  # a batch is a function of the epoch's order
    batches.on_epoch_end()
    assert not np.array_equal(batches[0], x)
    labelled = data.batches(batch_size=8, with_factors=True, shuffle=False)
    lx, ly = labelled[1]
    assert len(labelled) == 737_280 // 8 and lx.shape == (8, 64, 64, 1)
    np.testing.assert_array_equal(ly, data.factors(np.arange(8, 16)).classes)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        data.batches(batch_size=8, steps_per_epoch=0)


def test_dsprites_batches_feed_keras_fit(sprites):
    import keras

    data = sprites.batches(batch_size=16, steps_per_epoch=2)

    class Pairs(keras.utils.PyDataset):  # (x, x) for a plain Keras model; kerasae's take x
        def __len__(self):
            return len(data)

        def __getitem__(self, i):
            return data[i], data[i]

    model = keras.Sequential(
        [
            keras.Input((64, 64, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(4),
            keras.layers.Dense(64 * 64),
            keras.layers.Reshape((64, 64, 1)),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(Pairs(), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize(
    "name", ["_files", "dsprites", "nab", "ecg", "faces", "natural_images", "mnist"]
)
def test_loaders_import_no_backend_at_module_level(name):
    """The kerasae package imports Keras; the loaders themselves import no Keras or backend
    (tensorflow_datasets and keras are imported inside the functions that need them)."""
    tree = ast.parse(Path(sys.modules[f"kerasae.data.{name}"].__file__).read_text())
    top = [
        alias.name.split(".")[0]
        for node in tree.body
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    top += [
        node.module.split(".")[0]
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module
    ]
    assert not {"keras", "tensorflow", "tensorflow_datasets", "torch", "jax"} & set(top)


def test_module_constants_are_consistent():
    assert dsprites.N_IMAGES == 737_280
    assert mnist.FULL_SHA256["train.npz"] == mnist.MNIST.sha256["train.npz"]


def test_shipped_faces_sample_is_sixteen_grey_rgb_faces():
    from kerasae.data import load_olivetti_sample, shipped_sample

    x, subjects = shipped_sample("faces")
    assert x.shape == (16, 64, 64, 3) and x.dtype == np.float32
    assert np.array_equal(x[..., 0], x[..., 2]) and x.min() >= 0.0 and x.max() <= 1.0
    assert x.std() > 0.1  # real faces, not a blank array
    assert subjects.tolist() == list(range(16))
    grey, _ = load_olivetti_sample()
    assert grey.shape == (16, 64, 64, 1)
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        load_olivetti_sample(channels=2)


def test_whiten_images_flattens_a_one_over_f_spectrum():
    """Catches a whitening filter that leaves natural-image (1/f) statistics alone, or the
    wrong frequency axis on non-square images."""
    from kerasae.data import whiten_images

    rng = np.random.default_rng(0)
    fy, fx = np.fft.fftfreq(64)[:, None], np.fft.fftfreq(128)[None, :]
    f = np.hypot(fx, fy)
    pink = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(64, 128))) / np.maximum(f, 1 / 128)))

    def band_ratio(image):  # power at 0.1-0.2 cycles/pixel over power at 0.02-0.04
        power = np.abs(np.fft.fft2(image)) ** 2
        return power[(f > 0.1) & (f < 0.2)].mean() / power[(f > 0.02) & (f < 0.04)].mean()

    (white,) = whiten_images([pink])
    assert white.shape == pink.shape and white.dtype == np.float32
    assert abs(white.std() - 1) < 1e-4 and abs(white.mean()) < 1e-4
    assert band_ratio(pink) < 0.1 and 0.5 < band_ratio(white) < 2.0
    with pytest.raises(ValueError, match="2-D"):
        whiten_images([np.zeros(5)])


@pytest.mark.parametrize("cutoff", [0, -0.1, "0.4", None, float("inf")])
def test_whitening_refuses_a_cutoff_that_is_not_a_positive_frequency(cutoff):
    from kerasae.data import whiten_images

    with pytest.raises(ValueError, match="cutoff"):
        whiten_images([np.zeros((8, 8))], cutoff=cutoff)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_from_tfds_refuses_a_bad_batch_size_before_loading(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        from_tfds("mnist", batch_size=batch_size, preset="ae_mnist")
