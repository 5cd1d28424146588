"""Natural-image patches for sparse coding and sparse autoencoders (Olshausen & Field 1996; the
UFLDL sparse autoencoder exercise trains on 10x10 patches with 100 hidden units).

`load_natural_images` reads the 13 grey-scale scenes of Hyvarinen, Hurri & Hoyer's "Natural Image
Statistics"; `sample_patches` cuts random patches; `whiten` (ZCA or PCA) returns whitened patches
and the transform to apply to new data; `whiten_images` whitens whole images with Olshausen &
Field's 1/f filter (how the UFLDL exercise's IMAGES.mat was made); `ufldl_normalize` is UFLDL's
simpler preprocessing for sigmoid outputs: remove each patch's mean, clip at +-3 standard
deviations, map to [0.1, 0.9].
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from kerasae._checks import check_range
from kerasae.data._files import DataSource, check_array, load_npz, require_files, unit_float

NATURAL_IMAGES = DataSource(
    name="natural_images_hyvarinen",
    title="Natural images (Hyvarinen et al.)",
    env="natural_images",
    licence=(
        "No licence stated; the 13 images are the companion material of Hyvarinen, Hurri & "
        "Hoyer, 'Natural Image Statistics' (Springer 2009, www.naturalimagestatistics.net), as "
        "redistributed in probml/pmtkdata. Treat as research / educational use with citation."
    ),
    citation="Hyvarinen, Hurri & Hoyer, Natural Image Statistics, Springer 2009",
    sha256={"images.npz": "32627d6820a19e0cb556c42940dcf4936def68a4109ff2514fbf95e34015b578"},
)
N_IMAGES = 13


def load_natural_images(
    directory: str | os.PathLike | None = None, *, verify: bool = True
) -> list[np.ndarray]:
    """The 13 raw (not whitened) grey-scale natural images as float32 arrays in [0, 1].

    The folder (argument, else $KERASAE_NATURAL_IMAGES_DIR, else
    $KERASAE_DATA_DIR/natural_images_hyvarinen) holds `images.npz` with uint8 arrays `img01` ...
    `img13` (nine are 256x512, four 512x256)."""
    (path,) = require_files(NATURAL_IMAGES, directory, ["images.npz"], verify=verify)
    keys = [f"img{i:02d}" for i in range(1, N_IMAGES + 1)]
    arrays = load_npz(path, keys)
    return [
        unit_float(check_array(arrays[k], f"{path} {k}", shape=(None, None), dtype=np.uint8))
        for k in keys
    ]


def sample_patches(
    images: list[np.ndarray] | np.ndarray, n: int, patch_size: int = 10, seed: int = 0
) -> np.ndarray:
    """`n` random `patch_size` x `patch_size` patches, float32 (n, patch_size, patch_size).

    Each patch comes from an image drawn with probability proportional to the number of patch
    positions it has, at a uniformly random position; `seed` makes the draw repeatable. Images
    are 2-D grey-scale arrays of any size at least `patch_size`."""
    images = [np.asarray(im) for im in images]
    if not images or any(im.ndim != 2 for im in images):
        raise ValueError("sample_patches expects a non-empty list of 2-D grey-scale images.")
    if any(min(im.shape) < patch_size for im in images) or patch_size < 1:
        raise ValueError(f"every image must be at least {patch_size} pixels on each side.")
    positions = np.array(
        [(im.shape[0] - patch_size + 1) * (im.shape[1] - patch_size + 1) for im in images],
        dtype=np.float64,
    )
    rng = np.random.default_rng(seed)
    which = rng.choice(len(images), size=n, p=positions / positions.sum())
    out = np.empty((n, patch_size, patch_size), np.float32)
    offsets = np.arange(patch_size)
    for i, image in enumerate(images):  # one loop per image, not per patch
        picked = np.flatnonzero(which == i)
        if len(picked) == 0:
            continue
        rows = rng.integers(0, image.shape[0] - patch_size + 1, size=len(picked))
        cols = rng.integers(0, image.shape[1] - patch_size + 1, size=len(picked))
        out[picked] = image[
            (rows[:, None] + offsets)[:, :, None], (cols[:, None] + offsets)[:, None, :]
        ]
    return out


def whiten_images(images: list[np.ndarray] | np.ndarray, cutoff: float = 0.4) -> list[np.ndarray]:
    """Whiten whole images with Olshausen & Field's (1997) filter R(f) = f exp(-(f / f0)^4).

    Natural images have an amplitude spectrum falling as 1/f, so patches of raw images are
    dominated by smooth gradients; multiplying the spectrum by f flattens it (whitening) and the
    exponential rolls off above `cutoff` (f0, cycles per pixel; Nyquist is 0.5) where pixel
    noise and aliasing live. This is how the whitened IMAGES.mat of the UFLDL sparse
    autoencoder exercise was made, and what lets its hidden units become edge detectors.
    Returns float32 images of the same sizes, each scaled to zero mean and unit variance."""
    cutoff = check_range(cutoff, 0.0, float("inf"), "cutoff (a frequency in cycles per pixel)",
                         inclusive=False)
    out = []
    for image in images:
        image = np.asarray(image, dtype=np.float64)
        if image.ndim != 2 or min(image.shape) < 2:
            raise ValueError("whiten_images expects 2-D grey-scale images at least 2 x 2; got "
                             f"shape {image.shape}.")
        fy = np.fft.fftfreq(image.shape[0])[:, None]
        fx = np.fft.fftfreq(image.shape[1])[None, :]
        f = np.sqrt(fx**2 + fy**2)
        spectrum = np.fft.fft2(image - image.mean()) * f * np.exp(-((f / cutoff) ** 4))
        white = np.real(np.fft.ifft2(spectrum))
        std = white.std()
        if std <= 0:
            raise ValueError("a constant image has nothing to whiten.")
        out.append(((white - white.mean()) / std).astype(np.float32))
    return out


@dataclass(frozen=True)
class Whitening:
    """A fitted whitening transform: `(x - mean) @ matrix` on flattened patches.

    Call it on new data of the same patch shape (`transform(x)`); `inverse(z)` maps back."""

    mean: np.ndarray  # (d,)
    matrix: np.ndarray  # (d, d)
    inverse_matrix: np.ndarray  # (d, d)
    method: str
    epsilon: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        flat = x.reshape(len(x), -1)
        return ((flat - self.mean) @ self.matrix).astype(np.float32).reshape(x.shape)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        flat = z.reshape(len(z), -1)
        return (flat @ self.inverse_matrix + self.mean).astype(np.float32).reshape(z.shape)


def whiten(
    patches: np.ndarray, method: str = "zca", epsilon: float = 1e-2
) -> tuple[np.ndarray, Whitening]:
    """Whiten patches (N, ...) so their covariance is close to the identity.

    With eigen-decomposition cov = U diag(s) U^T of the per-pixel-centred data:
    "pca" multiplies by U diag(1/sqrt(s + epsilon)); "zca" by U diag(1/sqrt(s + epsilon)) U^T,
    which keeps the result looking like an image (the UFLDL / Olshausen-Field preprocessing).
    `epsilon` regularises the low-variance, mostly-noise directions: with epsilon << s the
    covariance becomes exactly the identity, larger values low-pass filter.

    Returns (whitened float32 shaped like `patches`, the fitted `Whitening` transform)."""
    if method not in ("zca", "pca"):
        raise ValueError(f"method must be 'zca' or 'pca'; got {method!r}.")
    if epsilon < 0:
        raise ValueError(f"epsilon must be >= 0; got {epsilon}.")
    patches = np.asarray(patches, dtype=np.float64)
    if patches.ndim < 2 or len(patches) < 2:
        raise ValueError(f"whiten expects at least 2 patches (N, ...); got shape {patches.shape}.")
    flat = patches.reshape(len(patches), -1)
    mean = flat.mean(axis=0)
    centred = flat - mean
    cov = centred.T @ centred / len(flat)
    s, u = np.linalg.eigh(cov)
    s = np.clip(s, 0.0, None)
    scale = 1.0 / np.sqrt(s + epsilon) if epsilon > 0 else 1.0 / np.sqrt(np.maximum(s, 1e-12))
    matrix = u * scale  # U diag(scale)
    inverse = (u / scale).T  # diag(1/scale) U^T
    if method == "zca":
        matrix = matrix @ u.T
        inverse = u @ inverse
    transform = Whitening(mean, matrix, inverse, method, float(epsilon))
    return transform(patches), transform


def ufldl_normalize(patches: np.ndarray, std: float | None = None) -> np.ndarray:
    """UFLDL's preprocessing for a sigmoid-output sparse autoencoder: subtract each patch's own
    mean (remove DC), clip at +-3 standard deviations, and map [-3 std, 3 std] linearly onto
    [0.1, 0.9], so targets lie inside the sigmoid's range (0, 1).

    `std` is the standard deviation of the DC-removed pixels; None computes it from `patches`
    (pass the training value to normalise new data the same way). Returns float32, same shape."""
    patches = np.asarray(patches, dtype=np.float64)
    axes = tuple(range(1, patches.ndim))
    centred = patches - patches.mean(axis=axes, keepdims=True)
    std = float(centred.std()) if std is None else float(std)
    if std <= 0:
        raise ValueError("the patches are constant after removing their mean; nothing to scale.")
    clipped = np.clip(centred, -3 * std, 3 * std) / (3 * std)
    return ((clipped + 1) * 0.4 + 0.1).astype(np.float32)
