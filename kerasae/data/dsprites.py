"""dSprites (Matthey, Higgins, Hassabis & Lerchner 2017, deepmind/dsprites-dataset), generated in
code: 737,280 binary 64x64 images of one sprite, one per combination of six factors.

The factor grid and its ordering are those of the published file
`dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`:

    factor        size  value (`latents_values` column)         class (`latents_classes`)
    color            1  1.0                                     0
    shape            3  1.0 square, 2.0 ellipse, 3.0 heart      0, 1, 2
    scale            6  linspace(0.5, 1, 6)                     0..5
    orientation     40  linspace(0, 2 pi, 40), both ends in     0..39 (0 and 39 look alike)
    posX            32  linspace(0, 1, 32)                      0..31
    posY            32  linspace(0, 1, 32)                      0..31

Image i has the factors `np.unravel_index(i, (1, 3, 6, 40, 32, 32))` (C order: posY varies
fastest, then posX, orientation, scale, shape), exactly as in the published file, so an index
here is an index there and `index_of` / `factors` are the published `latent_to_index` and its
inverse. `DSprites.factors()` returns `latents_classes` (int64) and `latents_values` (float64)
arrays identical in layout and values to the published ones.

The pixels are rendered here, since the published file cannot be downloaded in every setting.
What is NOT guaranteed is pixel equality with the published
`imgs`: DeepMind's renderer and exact sprite geometry are not public, and no copy of the file
was available to compare against. The rendering follows the published description and is
documented so it can be reproduced and, where the file is available, compared:

* a square, an ellipse with axes 2:1 (major axis horizontal at orientation 0) and a heart
  (the curve (x^2 + y^2 - 1)^3 = x^2 y^3, point down at orientation 0), each fitting a square
  box of half-width `SPRITE_RADIUS * scale` pixels (about 10 px at scale 1), rotated
  counter-clockwise by the orientation about the box centre;
* posX / posY move the centre over pixel centres 16..47 (column / row, posY growing downwards):
  one pixel per step, the "smallest step changes while ensuring that all pixel outputs were
  different" of the published description, with every sprite fully inside the 64x64 frame;
* a pixel is on when at least half of a 4x4 grid of sample points inside it falls in the shape.

`SPRITE_RADIUS` is chosen so the mean pixel over the whole grid is about 0.043, the published
dataset's mean as quoted by others (0.043, std 0.202); the rest is a best reading of the
description, not a copy. Because positions move by whole pixels, images are pasted from 720
cached base sprites (shape x scale x orientation), so rendering any batch is cheap and nothing
ever holds all 737,280 images.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

LATENT_NAMES = ("color", "shape", "scale", "orientation", "posX", "posY")
LATENT_SIZES = (1, 3, 6, 40, 32, 32)
SHAPES = ("square", "ellipse", "heart")
LATENT_VALUES = {
    "color": np.array([1.0]),
    "shape": np.array([1.0, 2.0, 3.0]),
    "scale": np.linspace(0.5, 1.0, 6),
    "orientation": np.linspace(0.0, 2 * np.pi, 40),
    "posX": np.linspace(0.0, 1.0, 32),
    "posY": np.linspace(0.0, 1.0, 32),
}
N_IMAGES = math.prod(LATENT_SIZES)  # 737,280
IMAGE_SIZE = 64
POSITION_FIRST_PIXEL = 16  # centre pixel (column for posX, row for posY) of position class 0
SPRITE_RADIUS = 10.25  # half-width in pixels of a shape's box at scale 1
SUPERSAMPLING = 4
LICENCE = (
    "Generated in code by kerasae (Apache-2.0). The dataset design (factors, grid, ordering) is "
    "that of dSprites by Matthey, Higgins, Hassabis & Lerchner (2017), "
    "github.com/deepmind/dsprites-dataset, released under the Apache 2.0 licence; cite it."
)
_BASES = np.array([math.prod(LATENT_SIZES[i + 1 :]) for i in range(len(LATENT_SIZES))])
_PATCH_RADIUS = int(math.ceil(SPRITE_RADIUS * math.sqrt(2))) + 1  # holds a rotated square


class Factors(NamedTuple):
    """Factor classes (int64, like `latents_classes`) and values (float64, `latents_values`)."""

    classes: np.ndarray
    values: np.ndarray


class Sample(NamedTuple):
    images: np.ndarray  # uint8 (n, 64, 64), zeros and ones
    classes: np.ndarray  # int64 (n, 6)
    values: np.ndarray  # float64 (n, 6)
    indices: np.ndarray  # int64 (n,)


class DSprites:
    """The dSprites dataset, rendered on demand: indexable by flat index, never all in memory.

    >>> data = DSprites()
    >>> len(data)
    737280
    >>> x = data.images([0, 1, 2])                 # uint8 (3, 64, 64), 0/1, like `imgs`
    >>> classes, values = data.factors([0, 1, 2])  # like `latents_classes`, `latents_values`
    >>> data.index_of(classes)                     # back to [0, 1, 2]
    array([0, 1, 2])
    >>> batches = data.batches(batch_size=64)      # keras.utils.PyDataset for model.fit

    The disentanglement metrics fix one factor and vary the others: draw classes, set one
    column, and render `data.images(data.index_of(classes))`. DSprites also implements
    `kerasae.metrics.GroundTruthDataset` (`num_factors`, `factor_sizes`, `sample_factors`,
    `images_from_factors`) over the five factors that vary, as disentanglement_lib does.
    """

    latent_names = LATENT_NAMES
    latent_sizes = LATENT_SIZES
    shapes = SHAPES
    licence = LICENCE

    def __len__(self) -> int:
        return N_IMAGES

    @property
    def latents_possible_values(self) -> dict[str, np.ndarray]:
        """The values of each factor, as the published metadata's `latents_possible_values`."""
        return {k: v.copy() for k, v in LATENT_VALUES.items()}

    def factors(self, indices=None) -> Factors:
        """Factor classes (n, 6) int64 and values (n, 6) float64 of the images at `indices`
        (all 737,280 when None: the published `latents_classes` and `latents_values`)."""
        indices = np.arange(N_IMAGES) if indices is None else self._indices(indices)
        classes = np.stack(np.unravel_index(indices, LATENT_SIZES), axis=-1).astype(np.int64)
        values = np.stack(
            [LATENT_VALUES[name][classes[..., i]] for i, name in enumerate(LATENT_NAMES)],
            axis=-1,
        )
        return Factors(classes, values)

    def index_of(self, classes) -> np.ndarray:
        """Flat indices (int64) of factor classes (..., 6): the published `latent_to_index`."""
        classes = np.asarray(classes)
        if classes.shape[-1:] != (len(LATENT_SIZES),) or classes.dtype.kind not in "iu":
            raise ValueError(
                f"classes must be integers of shape (..., 6) ordered {LATENT_NAMES}; "
                f"got {classes.dtype} {classes.shape}."
            )
        bad = (classes < 0) | (classes >= np.array(LATENT_SIZES))
        if bad.any():
            column = int(np.argwhere(bad)[0][-1])
            raise ValueError(
                f"factor {LATENT_NAMES[column]!r} class out of range 0..{LATENT_SIZES[column] - 1}"
                f"; got {classes[bad][0]}."
            )
        return (classes.astype(np.int64) @ _BASES).astype(np.int64)

    def images(self, indices) -> np.ndarray:
        """Binary images uint8 (n, 64, 64) of the given flat indices, rendered now."""
        indices = self._indices(indices)
        classes = np.stack(np.unravel_index(indices.ravel(), LATENT_SIZES), axis=-1)
        sprites = _sprites_for(classes[:, 1], classes[:, 2], classes[:, 3])  # (n, P, P)
        n, r = len(classes), _PATCH_RADIUS
        out = np.zeros((n, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
        offsets = np.arange(-r, r + 1)
        rows = (POSITION_FIRST_PIXEL + classes[:, 5])[:, None] + offsets  # posY -> row
        cols = (POSITION_FIRST_PIXEL + classes[:, 4])[:, None] + offsets  # posX -> column
        out[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]] = sprites
        return out.reshape(*indices.shape, IMAGE_SIZE, IMAGE_SIZE)

    def sample(self, n: int, seed: int | None = 0) -> Sample:
        """`n` images drawn uniformly (with replacement) with `seed`, with factors and indices."""
        indices = np.random.default_rng(seed).integers(0, N_IMAGES, size=int(n))
        classes, values = self.factors(indices)
        return Sample(self.images(indices), classes, values, indices)

    def iter_batches(self, batch_size: int = 64, seed: int = 0, with_factors: bool = False):
        """An endless generator of shuffled batches, float32 (batch_size, 64, 64, 1) (with the
        factor classes when `with_factors`); one new permutation of all images per epoch."""
        rng = np.random.default_rng(seed)
        while True:
            order = rng.permutation(N_IMAGES)
            for start in range(0, N_IMAGES - batch_size + 1, batch_size):
                yield self._batch(order[start : start + batch_size], with_factors)

    def batches(
        self,
        batch_size: int = 64,
        seed: int = 0,
        steps_per_epoch: int | None = None,
        with_factors: bool = False,
        shuffle: bool = True,
        **kwargs,
    ):
        """A `keras.utils.PyDataset` of batches float32 (batch_size, 64, 64, 1) for `model.fit`
        (with the factor classes (batch_size, 6) as targets when `with_factors`). Each epoch is a
        new permutation (drawn from `seed`); `steps_per_epoch` shortens epochs. Extra keyword
        arguments (workers, use_multiprocessing, max_queue_size) go to PyDataset."""
        from kerasae.data._keras import DSpritesBatches  # imports keras only when asked

        return DSpritesBatches(
            self, batch_size, seed, steps_per_epoch, with_factors, shuffle, **kwargs
        )

    # ----- kerasae.metrics.GroundTruthDataset: the five factors that vary (color is constant,
    # and dropped as in disentanglement_lib), images in the layout the models take

    num_factors = len(LATENT_SIZES) - 1
    factor_sizes = list(LATENT_SIZES[1:])

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Uniform factor classes int64 (n, 5): shape, scale, orientation, posX, posY."""
        return rng.integers(0, self.factor_sizes, size=(int(n), self.num_factors))

    def images_from_factors(self, factors) -> np.ndarray:
        """float32 (n, 64, 64, 1) images of factor classes (n, 5) (color omitted)."""
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != self.num_factors:
            raise ValueError(
                f"factors must have shape (n, {self.num_factors}) ordered "
                f"{LATENT_NAMES[1:]}; got {factors.shape}."
            )
        classes = np.concatenate([np.zeros((len(factors), 1), factors.dtype), factors], axis=1)
        return self._batch(self.index_of(classes), with_factors=False)

    def _batch(self, indices: np.ndarray, with_factors: bool):
        x = self.images(indices)[..., None].astype(np.float32)
        if with_factors:
            return x, self.factors(indices).classes
        return x

    @staticmethod
    def _indices(indices) -> np.ndarray:
        indices = np.asarray(indices)
        if indices.size == 0:
            return indices.astype(np.int64)
        if indices.dtype.kind not in "iu":
            raise ValueError(f"indices must be integers; got {indices.dtype}.")
        if indices.min() < 0 or indices.max() >= N_IMAGES:
            raise IndexError(
                f"dSprites indices must be in [0, {N_IMAGES}); got "
                f"[{indices.min()}, {indices.max()}]."
            )
        return indices.astype(np.int64)


# ----- rendering ---------------------------------------------------------------------------


def shape_mask(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether points (u, v) of the unit box [-1, 1]^2 (v up) lie inside shape 0 square,
    1 ellipse, 2 heart, unrotated."""
    if shape == 0:
        return np.maximum(np.abs(u), np.abs(v)) <= 1.0
    if shape == 1:
        return u * u + 4 * v * v <= 1.0
    if shape == 2:
        # (x^2 + y^2 - 1)^3 <= x^2 y^3 spans x in [-1.139, 1.139], y in [-1, 1.236]: scale to
        # half-width 1 and centre its box vertically.
        x = u * _HEART_HALF_WIDTH
        y = v * _HEART_HALF_WIDTH + _HEART_CENTRE_Y
        x2, a = x * x, x * x + y * y - 1  # products: ** with a float array is slow
        return a * a * a <= x2 * y * y * y
    raise ValueError(f"shape class must be 0, 1 or 2; got {shape}.")


_HEART_HALF_WIDTH = 1.1390
_HEART_CENTRE_Y = (1.2360 - 1.0) / 2


def render_sprites(shape: int, scales, orientations) -> np.ndarray:
    """Base sprites uint8 (n, P, P), P = 2 * _PATCH_RADIUS + 1, each centred on the middle pixel,
    of one `shape` class at `scales` and `orientations` (values; radians, counter-clockwise),
    two arrays broadcast to length n."""
    r, k = _PATCH_RADIUS, SUPERSAMPLING
    sub = (np.arange(k) + 0.5) / k - 0.5  # sample points inside each pixel
    grid = (np.arange(-r, r + 1)[:, None] + sub).ravel()  # (P * k,)
    dx = grid[None, None, :]  # columns, to the right
    dy = -grid[None, :, None]  # rows go down, v goes up
    scales, theta = np.broadcast_arrays(
        np.asarray(scales, dtype=np.float64), np.asarray(orientations, dtype=np.float64)
    )
    size = SPRITE_RADIUS * scales.reshape(-1, 1, 1)
    cos, sin = np.cos(theta).reshape(-1, 1, 1), np.sin(theta).reshape(-1, 1, 1)
    u = (cos * dx + sin * dy) / size  # rotate each point by -orientation
    v = (-sin * dx + cos * dy) / size
    inside = shape_mask(shape, u, v)
    p = 2 * r + 1
    coverage = inside.reshape(-1, p, k, p, k).sum(axis=(2, 4), dtype=np.int32)
    return (2 * coverage >= k * k).astype(np.uint8)


_P = 2 * _PATCH_RADIUS + 1
_SPRITES = np.zeros((len(SHAPES), LATENT_SIZES[2], LATENT_SIZES[3], _P, _P), np.uint8)
_RENDERED = np.zeros(_SPRITES.shape[:3], bool)


def _sprites_for(shape, scale, orientation) -> np.ndarray:
    """Base sprites (n, P, P) for class arrays; each (shape, scale, orientation) is rendered the
    first time it is asked for and cached (all 720 take 0.8 MB)."""
    todo = ~_RENDERED[shape, scale, orientation]
    if todo.any():
        keys = np.unique(np.stack([shape[todo], scale[todo], orientation[todo]], 1), axis=0)
        for start in range(0, len(keys), 40):  # chunks keep the sample grids small
            for s in np.unique(keys[start : start + 40, 0]):
                chunk = keys[start : start + 40]
                _, c, o = chunk[chunk[:, 0] == s].T
                _SPRITES[s, c, o] = render_sprites(
                    int(s), LATENT_VALUES["scale"][c], LATENT_VALUES["orientation"][o]
                )
                _RENDERED[s, c, o] = True
    return _SPRITES[shape, scale, orientation]
