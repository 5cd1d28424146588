"""Face images: a 64x64 CelebA subset with identity labels, the Olivetti faces, CBCL faces.

Each loader reads the npz files described in its docstring from a folder (argument, else the
dataset's environment variable, else $KERASAE_DATA_DIR/<name>) and returns float32 images in
[0, 1], channels last. The licence of each set is in `kerasae.data.LICENCES`: CelebA is for
non-commercial research only, and a model card of anything trained on it must say so.
"""

from __future__ import annotations

import os
from importlib import resources

import numpy as np

from kerasae.data._files import (
    DataSource,
    check_array,
    load_npz,
    require_files,
    unit_float,
    verify_file,
)

Split = tuple[np.ndarray, np.ndarray]

CELEBA64 = DataSource(
    name="celeba64",
    title="CelebA 64x64",
    env="celeba",
    licence=(
        "CelebA (Liu, Luo, Wang & Tang, MMLAB, The Chinese University of Hong Kong) is available "
        "for non-commercial research purposes only. The images are not owned by the CelebA "
        "authors; redistribution and commercial use are not allowed under their agreement. "
        "Models trained on it inherit these terms: say so in their model cards."
    ),
    citation='Liu, Luo, Wang & Tang, "Deep Learning Face Attributes in the Wild", ICCV 2015',
    sha256={
        "train_0.npz": "1dc8d4ab115d1ec357aeb782c5ae5a80b27b65165843fe53a4d41ce35b29627d",
        "train_1.npz": "a2cdf26d7efc283fe01cc83cc0da63855806ceb1b3f36a5f0d2041fd39659ce4",
        "train_2.npz": "59fd3ad9a37e464fc2991bfdc1f58ee5ff8807f635452340540983faf31a6ae1",
        "test.npz": "9b3b272985af2ddeb49f24e7d45930dbd713c3597db4affb993dd65caa09a2d0",
    },
)
CELEBA_TRAIN_SHARDS = ("train_0.npz", "train_1.npz", "train_2.npz")

OLIVETTI = DataSource(
    name="faces_olivetti",
    title="Olivetti faces",
    env="olivetti",
    licence=(
        "AT&T Laboratories Cambridge (ORL) Database of Faces: free to use with credit, no "
        'formal licence: "When using these images, please give credit to AT&T Laboratories '
        'Cambridge." (64x64 version by Sam Roweis.)'
    ),
    citation="Samaria & Harter, 1994; AT&T Laboratories Cambridge",
    sha256={"olivetti.npz": "a35a39deb02d4ef38aacdb347961b52f287a89e3e3367e1a7063d1619d6761a2"},
)

CBCL = DataSource(
    name="faces_cbcl",
    title="CBCL faces",
    env="cbcl",
    licence=(
        'MIT CBCL Face Database #1: free for research use; cite "CBCL Face Database #1, MIT '
        'Center For Biological and Computation Learning, http://www.ai.mit.edu/projects/cbcl".'
    ),
    citation="CBCL Face Database #1, MIT Center For Biological and Computation Learning",
    sha256={"cbcl_faces.npz": "4fabc75994c2969b27eb1c31b5e012c4a34501f2fdf2c7a40a2aaf45f2754404"},
)


def load_celeba64(
    directory: str | os.PathLike | None = None, *, verify: bool = True
) -> tuple[Split, Split]:
    """The 9,995-image CelebA subset at 64x64 with an identity-disjoint train/test split.

    The folder (argument, else $KERASAE_CELEBA_DIR, else $KERASAE_DATA_DIR/celeba64) holds
    `train_0.npz`, `train_1.npz`, `train_2.npz` and `test.npz`, each with `x` uint8
    (N, 64, 64, 3) RGB, `image_id` and `identity` int (N,).

    Returns ((x_train, id_train), (x_test, id_test)): images float32 in [0, 1], (N, 64, 64, 3)
    (8,995 train, 1,000 test; train in ascending image id: shuffle before training); identity
    labels int64. No person is in both splits. Non-commercial research use only (see LICENCES).
    """
    paths = require_files(CELEBA64, directory, [*CELEBA_TRAIN_SHARDS, "test.npz"], verify=verify)
    parts = [_celeba_part(path) for path in paths]
    train, test = parts[:-1], parts[-1]
    x_train = unit_float(np.concatenate([x for x, _ in train]))  # uint8 copy, then one float32
    id_train = np.concatenate([ids for _, ids in train])
    return (x_train, id_train), (unit_float(test[0]), test[1])


def _celeba_part(path) -> tuple[np.ndarray, np.ndarray]:
    arrays = load_npz(path, ["x", "identity"])
    x = check_array(arrays["x"], f"{path} x", shape=(None, 64, 64, 3), dtype=np.uint8)
    ids = check_array(arrays["identity"], f"{path} identity", shape=(len(x),), dtype="iu")
    return x, ids.astype(np.int64)


def load_olivetti(
    directory: str | os.PathLike | None = None, *, verify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The 400 Olivetti (AT&T / ORL) faces at 64x64 grey-scale, 10 per subject.

    The folder (argument, else $KERASAE_OLIVETTI_DIR, else
    $KERASAE_DATA_DIR/faces_olivetti) holds `olivetti.npz` with `x` uint8 (400, 64, 64) and `y`
    int (400,) subject ids 0..39.

    Returns (x, y): x float32 (400, 64, 64, 1) = pixel / 255 (scikit-learn divides by the maximum
    instead; here the brightest pixel is 242/255), y int64 subject ids.
    """
    (path,) = require_files(OLIVETTI, directory, ["olivetti.npz"], verify=verify)
    arrays = load_npz(path, ["x", "y"])
    x = check_array(arrays["x"], f"{path} x", shape=(400, 64, 64), dtype=np.uint8)
    y = check_array(arrays["y"], f"{path} y", shape=(400,), dtype="iu")
    return unit_float(x)[..., None], y.astype(np.int64)


def load_cbcl_faces(
    directory: str | os.PathLike | None = None, *, verify: bool = True
) -> np.ndarray:
    """The 2,429 training faces of the MIT CBCL Face Database #1 at 19x19 (Lee & Seung's NMF set).

    The folder (argument, else $KERASAE_CBCL_DIR, else $KERASAE_DATA_DIR/faces_cbcl) holds
    `cbcl_faces.npz` with `x` uint8 (2429, 19, 19). Returns float32 (2429, 19, 19, 1) in [0, 1];
    there are no labels (every image is a face).
    """
    (path,) = require_files(CBCL, directory, ["cbcl_faces.npz"], verify=verify)
    x = load_npz(path, ["x"])["x"]
    check_array(x, f"{path} x", shape=(2429, 19, 19), dtype=np.uint8)
    return unit_float(x)[..., None]


OLIVETTI_SAMPLE_SHA256 = "057b68dc8a0e4fa7430424c25b252acf8d4e88e99044f0a7a13c7ac3bc0cfb1a"


def load_olivetti_sample(channels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """16 Olivetti faces shipped with kerasae (the first image of subjects 0..15; credit AT&T
    Laboratories Cambridge): float32 (16, 64, 64, channels) in [0, 1], grey repeated when
    channels is 3, and the subject ids. Face presets check themselves on it, since CelebA
    itself may not be redistributed."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3; got {channels!r}.")
    path = resources.files("kerasae") / "assets" / "olivetti_sample.npz"
    with resources.as_file(path) as file:
        verify_file(file, OLIVETTI_SAMPLE_SHA256)
        arrays = load_npz(file, ["x", "y"])
    x = unit_float(arrays["x"])[..., None]
    return np.repeat(x, channels, axis=-1), arrays["y"].astype(np.int64)
