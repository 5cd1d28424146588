"""MNIST: the sample bundled with kerasae, the full set from npz or the original IDX files, the
TensorFlow Datasets copy, and the stochastic binarisation used for likelihood benchmarks."""

from __future__ import annotations

import gzip
import hashlib
import os
from importlib import resources
from pathlib import Path

import numpy as np

from kerasae._checks import check_sha256
from kerasae.data._files import (
    VERIFY_HINT,
    DataSource,
    check_array,
    data_dir,
    load_npz,
    missing_file,
    unit_float,
    verify_file,
    verify_known,
)

SAMPLE_SHA256 = "014ff4b1a855c54d171d1a732e76e818a722746d3e3ea044422d7275ec6227a5"

MNIST = DataSource(
    name="mnist",
    title="MNIST",
    licence=(
        "Copyright Yann LeCun and Corinna Cortes; MNIST is a derivative of NIST data and is "
        "made available under the Creative Commons Attribution-Share Alike 3.0 licence "
        "(CC BY-SA 3.0), as stated in the Keras / TFDS dataset documentation."
    ),
    citation="LeCun, Bottou, Bengio & Haffner (1998); http://yann.lecun.com/exdb/mnist/",
    sha256={
        # npz files in the layout of keras.datasets.mnist (x uint8 (N, 28, 28), y uint8 (N,))
        "train.npz": "11bf48d67d8e90b9d940549ce9565b4921ad2ec150e4491e0c670aeb165169a9",
        "test.npz": "3ba302235efdc3e7e4e84db9ce6a6d6cbc9dd1162d4e79dd0b6a606afc745423",
        # the original IDX files, uncompressed: a .gz file is checked on its decompressed bytes,
        # so any gzip of the right content passes (LeCun's own .gz files have sha256
        # 440fcabf..., 3552534a..., 8d422c7b..., f7ae60f9...)
        "train-images-idx3-ubyte": (
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
        ),
        "train-labels-idx1-ubyte": (
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
        ),
        "t10k-images-idx3-ubyte": (
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
        ),
        "t10k-labels-idx1-ubyte": (
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        ),
    },
)
# Kept for code that used the old name: the sha256 of the two npz files.
FULL_SHA256 = {k: MNIST.sha256[k] for k in ("train.npz", "test.npz")}

Split = tuple[np.ndarray, np.ndarray]
_COUNTS = {"train": 60000, "test": 10000}
_IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# IDX type codes (third byte of the magic number) -> big-endian numpy dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # 0x00000803 (ubyte, 3 dims), 0x00000801 (ubyte, 1 dim)


def load_mnist_sample() -> tuple[Split, Split]:
    """2,000 training and 500 test digits shipped with kerasae (CC BY-SA 3.0, see assets/).

    Images are float32 in [0, 1] with shape (N, 28, 28, 1); labels are uint8.
    """
    path = resources.files("kerasae") / "assets" / "mnist_sample.npz"
    with resources.as_file(path) as file:
        verify_file(Path(file), SAMPLE_SHA256)
        arrays = load_npz(Path(file), ["x_train", "y_train", "x_test", "y_test"])
    return (
        (_images(arrays["x_train"]), arrays["y_train"]),
        (_images(arrays["x_test"]), arrays["y_test"]),
    )


def load_mnist(
    directory: str | os.PathLike | None = None, *, verify: bool = True
) -> tuple[Split, Split]:
    """The full MNIST from `directory` (else $KERASAE_MNIST_DIR, else $KERASAE_DATA_DIR/mnist).

    The folder holds either `train.npz` and `test.npz`, each with uint8 arrays `x` (N, 28, 28) and
    `y` (N,) as `keras.datasets.mnist` has them, or the four original IDX files
    `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
    `t10k-labels-idx1-ubyte`, each optionally gzipped (`.gz`). npz files win when both are there.
    Known files are checked against their published sha256 unless `verify=False` (needed for npz
    files you saved yourself, whose bytes depend on how they were written); IDX files are checked
    on their decompressed content, so any gzip of the original files passes.

    Returns ((x_train, y_train), (x_test, y_test)): images float32 in [0, 1], (N, 28, 28, 1);
    labels uint8 (N,).
    """
    folder = data_dir(MNIST, directory)
    if (folder / "train.npz").is_file() or (folder / "test.npz").is_file():
        return _split_npz(folder, "train", verify), _split_npz(folder, "test", verify)
    if any(_idx_path(folder, n) for names in _IDX_NAMES.values() for n in names):
        return _split_idx(folder, "train", verify), _split_idx(folder, "test", verify)
    raise missing_file(
        MNIST,
        folder,
        "train.npz",
        "MNIST is read from train.npz + test.npz (arrays x, y; np.savez of "
        "keras.datasets.mnist.load_data() makes them: read those with verify=False) or from "
        "the four IDX files train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
        "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz].",
    )


def _split_npz(folder: Path, split: str, verify: bool) -> Split:
    path = folder / f"{split}.npz"
    if not path.is_file():
        raise missing_file(MNIST, folder, path.name)
    if verify:
        verify_known(MNIST, path)
    arrays = load_npz(path, ["x", "y"])
    count = _COUNTS[split]
    x = check_array(arrays["x"], f"{path} x", shape=(count, 28, 28), dtype=np.uint8)
    y = check_array(arrays["y"], f"{path} y", shape=(count,), dtype="iu")
    return _images(x), y.astype(np.uint8)


def _idx_path(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _split_idx(folder: Path, split: str, verify: bool) -> Split:
    arrays = []
    for name, magic in zip(_IDX_NAMES[split], (IMAGES_MAGIC, LABELS_MAGIC), strict=True):
        path = _idx_path(folder, name)
        if path is None:
            raise missing_file(MNIST, folder, name, f"({name}.gz is read as well.)")
        raw = _idx_bytes(path)
        if verify:
            digest = hashlib.sha256(raw).hexdigest()
            check_sha256(f"{path} (its IDX content)", digest, MNIST.sha256[name], VERIFY_HINT)
        arrays.append(_parse_idx(raw, path, magic))
    x, y = arrays
    count = _COUNTS[split]
    check_array(x, f"MNIST {split} images", shape=(count, 28, 28), dtype=np.uint8)
    check_array(y, f"MNIST {split} labels", shape=(count,), dtype=np.uint8)
    return _images(x), y


def read_idx(path: str | os.PathLike, magic: int | None = None) -> np.ndarray:
    """An array from an IDX file (LeCun's format: a big-endian magic number 0x0000TTDD with type
    code TT and DD dimensions, DD big-endian uint32 sizes, then the data), gzipped or not.

    With `magic` (e.g. 2051 for image files, 2049 for label files) a different magic number is an
    error. Returns native-endian data (uint8 for MNIST)."""
    return _parse_idx(_idx_bytes(Path(path)), Path(path), magic)


def _idx_bytes(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            return stream.read()
    except (OSError, EOFError) as error:  # e.g. a truncated or non-gzip .gz file
        raise ValueError(f"{path} could not be read as an IDX file: {error}") from error


def _parse_idx(raw: bytes, path: Path, magic: int | None) -> np.ndarray:
    if len(raw) < 4:
        raise ValueError(f"{path} is not an IDX file: only {len(raw)} bytes.")
    found = int.from_bytes(raw[:4], "big")
    zero, type_code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if magic is not None and found != magic:
        raise ValueError(
            f"{path}: expected IDX magic number {magic} (0x{magic:08x}); got {found} "
            f"(0x{found:08x}). Is it the right file (images vs labels), and is it decompressed?"
        )
    if zero != 0 or type_code not in _IDX_TYPES or ndim == 0:
        raise ValueError(f"{path}: not an IDX file (magic number 0x{found:08x}).")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header.")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: IDX header says shape {shape} of {dtype.name} ({expected} bytes of data); "
            f"the file holds {len(raw) - header}."
        )
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write `array` as an IDX file (gzipped when `path` ends in .gz); the inverse of read_idx."""
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    array = np.asarray(array)
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; use one of {list(codes)}.")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    body = array.astype(np.dtype(_IDX_TYPES[code])).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as stream:
        stream.write(header + body)


def load_mnist_tfds(data_dir: str | os.PathLike | None = None) -> tuple[Split, Split]:
    """MNIST through TensorFlow Datasets, offline: `tfds.load("mnist", data_dir=data_dir,
    download=False)` on a directory already prepared by tfds (None: tfds' default,
    ~/tensorflow_datasets). Same return values as `load_mnist`.

    Needs `pip install tensorflow-datasets` (and TensorFlow); raises ImportError saying so when
    it is not installed."""
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise ImportError(
            "load_mnist_tfds needs TensorFlow Datasets: pip install tensorflow-datasets "
            "(or use load_mnist(directory) with npz or IDX files, which needs nothing extra)."
        ) from error
    splits = tfds.load(
        "mnist",
        split=["train", "test"],
        data_dir=None if data_dir is None else os.fspath(data_dir),
        download=False,
        batch_size=-1,
        as_supervised=True,
    )
    out = []
    for name, (x, y) in zip(("train", "test"), tfds.as_numpy(splits), strict=True):
        x = check_array(np.asarray(x), f"tfds mnist {name} images", shape=(None, 28, 28, 1))
        out.append((x.astype("float32") / 255.0, np.asarray(y).astype(np.uint8)))
    return out[0], out[1]


def binarize(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """Stochastic binarisation: each pixel is 1 with probability equal to its intensity in [0, 1],
    drawn with a fixed `seed` so a benchmark's binarised test set is the same on every run (as in
    the NLL benchmarks on binarised MNIST). Returns float32 zeros and ones, shaped like `x`."""
    x = np.asarray(x)
    if x.size and (not np.issubdtype(x.dtype, np.number) or x.min() < 0 or x.max() > 1):
        raise ValueError(
            "binarize expects intensities in [0, 1] (e.g. from load_mnist); got dtype "
            f"{x.dtype} with range [{x.min()}, {x.max()}]."
        )
    rng = np.random.default_rng(seed)
    return (rng.random(x.shape) < x).astype("float32")


def _images(x: np.ndarray) -> np.ndarray:
    return unit_float(x)[..., None]
