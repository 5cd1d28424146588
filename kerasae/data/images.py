"""User images shaped and scaled the way a preset was trained: size, centre crop, channels and
range come from the preset's metadata, so a folder of photos of any size becomes the batches
the preset expects, and every step taken is said (`ImagePreprocessing.describe`).

The recipe: take the largest centred box with the preset's aspect ratio (no squashing), shrink
it about its centre by `center_crop` (CelebA: 148 of the 178-pixel width), resize it to the
preset's size, convert to its channels (grey or RGB; alpha dropped) and divide by 255. Three
readers apply it: `load_images` (image files, Pillow, numpy out), `preprocess_array` (numpy
images) and `image_folder` (a folder, through keras.utils.image_dataset_from_directory,
tf.data out, which Keras' fit accepts on every backend).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kerasae.hub._meta import read_metadata
from kerasae.hub.registry import resolve

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
# image_dataset_from_directory reads these (TensorFlow's decoders); other files are skipped.
_FOLDER_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
# image_folder resizes in two steps: to this many times the preset's size while cropping to its
# aspect ratio ("area": no aliasing from big photos), then the centre crop and an antialiased
# resize to the preset's size.
_OVERSAMPLE = 4


@dataclass(frozen=True)
class ImagePreprocessing:
    """How images become a preset's input: (height, width, channels) float32 in [0, 1]."""

    height: int
    width: int
    channels: int
    center_crop: float = 1.0  # side of the centred crop, as a fraction of the largest box

    def __post_init__(self):
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grey) or 3 (RGB); got {self.channels!r}.")
        if not 0.0 < self.center_crop <= 1.0:
            raise ValueError(f"center_crop must be in (0, 1]; got {self.center_crop!r}.")

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any]) -> ImagePreprocessing:
        """The preset's recorded `image_preprocessing`, else its input shape (resize only).
        Raises ValueError for presets that do not take images (sequences, flat patches)."""
        shape = list((meta.get("input_spec") or {}).get("shape") or [])
        name = meta.get("name", "this preset")
        if len(shape) != 3 or shape[-1] not in (1, 3):
            raise ValueError(
                f"{name} takes inputs of shape {tuple(shape)}, not images (height, width, 1 or "
                "3): give it a .npy/.npz array of that shape instead."
            )
        recorded = dict(meta.get("image_preprocessing") or {})
        return cls(height=int(shape[0]), width=int(shape[1]), channels=int(shape[2]),
                   center_crop=float(recorded.get("center_crop", 1.0)))

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.height, self.width, self.channels

    @property
    def color_mode(self) -> str:
        return "grayscale" if self.channels == 1 else "rgb"

    def to_metadata(self) -> dict[str, Any]:
        """The `image_preprocessing` field of a preset's metadata."""
        return {**asdict(self), "description": self.describe()}

    def describe(self) -> str:
        crop = (f"centre crop {self.center_crop:.4g} of the largest centred box with the "
                f"aspect ratio {self.width}:{self.height}" if self.center_crop < 1.0 else
                f"largest centred box with the aspect ratio {self.width}:{self.height} "
                "(cropped, not squashed)")
        colour = "grey" if self.channels == 1 else "RGB (alpha dropped)"
        return (f"{crop}, resized to {self.height}x{self.width}, {colour}, pixels / 255 as "
                f"float32 in [0, 1], shape (N, {self.height}, {self.width}, {self.channels})")

    def box(self, width: int, height: int) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the region of a width x height image that is kept."""
        aspect = self.width / self.height
        box_w, box_h = (height * aspect, height) if width / height > aspect else (
            width, width / aspect)
        box_w, box_h = box_w * self.center_crop, box_h * self.center_crop
        left, top = (width - box_w) / 2, (height - box_h) / 2
        return left, top, left + box_w, top + box_h


def preprocessing_for(preset: Any) -> tuple[ImagePreprocessing, dict[str, Any]]:
    """(the preprocessing, the metadata) of a preset handle, folder or metadata dict."""
    if isinstance(preset, ImagePreprocessing):
        return preset, {}
    meta = dict(preset) if isinstance(preset, Mapping) else read_metadata(resolve(preset))
    return ImagePreprocessing.from_metadata(meta), meta


def image_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Image files named, or found (recursively, sorted) in the folders named."""
    found: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir():
            found += sorted(p for p in item.rglob("*")
                            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif not item.is_file():
            raise FileNotFoundError(f"{item} does not exist; expected an image file or a folder.")
        elif item.suffix.lower() not in IMAGE_SUFFIXES:
            raise ValueError(
                f"{item} is not an image file; expected one of {', '.join(IMAGE_SUFFIXES)}."
            )
        else:
            found.append(item)
    if not found:
        raise ValueError(
            f"no image files ({', '.join(IMAGE_SUFFIXES)}) in {', '.join(map(str, paths))}."
        )
    return found


def load_images(paths: Iterable[str | os.PathLike], preset: Any) -> tuple[np.ndarray, list]:
    """Image files and folders -> (float32 (N, H, W, C) in [0, 1], each image's (width, height)
    before preprocessing), by Pillow with an antialiased bilinear resize."""
    from PIL import Image

    spec, _ = preprocessing_for(preset)
    mode = "L" if spec.channels == 1 else "RGB"
    images, sizes = [], []
    for file in image_files(paths):
        try:
            with Image.open(file) as opened:
                image = opened.convert(mode)
                sizes.append(image.size)
                image = image.resize((spec.width, spec.height), Image.Resampling.BILINEAR,
                                     box=spec.box(*image.size))
        except OSError as error:
            raise ValueError(f"{file} could not be read as an image ({error}).") from None
        images.append(np.asarray(image, dtype=np.float32).reshape(spec.shape))
    return np.stack(images) / np.float32(255.0), sizes


def preprocess_array(x: np.ndarray, preset: Any) -> np.ndarray:
    """Numpy images (N, H, W[, C]) -> the preset's input. Arrays already of the preset's shape
    keep their values (uint8 is divided by 255); other sizes go through the image recipe."""
    from PIL import Image

    spec, _ = preprocessing_for(preset)
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4) or len(x) == 0:
        raise ValueError(
            f"expected images (N, height, width[, 1, 3 or 4 channels]); got shape {x.shape}."
        )
    integer = np.issubdtype(x.dtype, np.integer)
    if not integer and not np.all(np.isfinite(x)):
        raise ValueError("the images hold NaN or infinite values.")
    if x.shape[1:] == spec.shape:
        return (x / np.float32(255.0) if integer else x).astype(np.float32)
    pixels = x if integer else np.clip(x * 255.0, 0, 255)  # float images are taken in [0, 1]
    mode = "L" if spec.channels == 1 else "RGB"
    out = np.empty((len(x), *spec.shape), np.float32)
    for i, image in enumerate(pixels.astype(np.uint8)):
        image = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).convert(mode)
        image = image.resize((spec.width, spec.height), Image.Resampling.BILINEAR,
                             box=spec.box(*image.size))
        out[i] = np.asarray(image, np.float32).reshape(spec.shape) / 255.0
    return out


def tf_preprocess(image, spec: ImagePreprocessing):
    """One image tensor (H, W, C), any dtype and channel count -> the preset's input, in
    TensorFlow ops (for tf.data pipelines). Integer pixels are divided by 255; float pixels
    are taken to be in [0, 1] already."""
    import tensorflow as tf

    if image.dtype.is_integer:
        image = tf.cast(image, tf.float32) / 255.0
    image = tf.cast(image, tf.float32)
    if image.shape.rank == 2:
        image = image[..., None]
    channels = image.shape[-1]
    if channels == 4:
        image, channels = image[..., :3], 3
    if channels != spec.channels:
        image = (tf.image.rgb_to_grayscale(image) if spec.channels == 1
                 else tf.image.grayscale_to_rgb(image))
    size = tf.cast(tf.shape(image)[:2], tf.float32)
    height, width = size[0], size[1]
    aspect = spec.width / spec.height
    wide = width / height > aspect
    box_w = tf.where(wide, height * aspect, width) * spec.center_crop
    box_h = tf.where(wide, height, width / aspect) * spec.center_crop
    box_w, box_h = tf.maximum(tf.round(box_w), 1.0), tf.maximum(tf.round(box_h), 1.0)
    top = tf.cast(tf.round((height - box_h) / 2), tf.int32)
    left = tf.cast(tf.round((width - box_w) / 2), tf.int32)
    image = tf.image.crop_to_bounding_box(image, top, left, tf.cast(box_h, tf.int32),
                                          tf.cast(box_w, tf.int32))
    image = tf.image.resize(image, (spec.height, spec.width), antialias=True)
    return tf.ensure_shape(tf.clip_by_value(image, 0.0, 1.0), spec.shape)


def image_folder(
    directory: str | os.PathLike,
    preset: Any,
    batch_size: int = 32,
    validation_split: float | None = None,
    subset: str | None = None,
    seed: int | None = None,
    shuffle: bool = True,
):
    """A folder of images (nested folders too) -> a tf.data.Dataset of batches (B, H, W, C)
    float32 in [0, 1], shaped as `preset` (a name, folder, hf:// handle or metadata) expects.

    Built on keras.utils.image_dataset_from_directory (labels=None), so `validation_split`,
    `subset` ("training", "validation" or "both", which returns two datasets) and `seed` mean
    what they mean there. Model.fit accepts the result on TensorFlow, JAX and PyTorch.
    """
    import keras
    import tensorflow as tf

    spec, _ = preprocessing_for(preset)
    folder = Path(directory)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist.")
    if not any(p.suffix.lower() in _FOLDER_SUFFIXES for p in folder.rglob("*") if p.is_file()):
        raise ValueError(f"{folder} holds no image files ({', '.join(_FOLDER_SUFFIXES)}).")
    if validation_split is not None and subset is None:
        subset = "both"
    if seed is None and (validation_split is not None or shuffle):
        seed = 0  # training and validation subsets must be cut from the same shuffle
    large = (_OVERSAMPLE * spec.height, _OVERSAMPLE * spec.width)
    datasets = keras.utils.image_dataset_from_directory(
        folder, labels=None, color_mode=spec.color_mode, batch_size=None, image_size=large,
        crop_to_aspect_ratio=True, interpolation="area", shuffle=shuffle, seed=seed,
        validation_split=validation_split, subset=subset, verbose=False,
    )

    def finish(dataset):
        return (dataset.map(lambda image: tf_preprocess(image / 255.0, spec),
                            num_parallel_calls=tf.data.AUTOTUNE)
                .batch(batch_size).prefetch(tf.data.AUTOTUNE))

    if isinstance(datasets, (list, tuple)):
        return tuple(finish(d) for d in datasets)
    return finish(datasets)


__all__ = [
    "IMAGE_SUFFIXES",
    "ImagePreprocessing",
    "image_files",
    "image_folder",
    "load_images",
    "preprocess_array",
    "preprocessing_for",
    "tf_preprocess",
]
