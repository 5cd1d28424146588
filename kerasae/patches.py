"""Image patches for the masked autoencoder: patchify/unpatchify, random masking, token routing.

Patches are numbered row-major over the patch grid (left to right, then top to bottom); each
patch is flattened as (patch_row, patch_col, channel), so a patch vector has
`patch_size * patch_size * channels` entries. Every tensor function here is `keras.ops` only, so
it runs on TensorFlow, JAX and PyTorch alike.

Masking (He et al. 2021) shuffles the patches of each example by the argsort of uniform noise and
keeps the first `num_patches - round(mask_ratio * num_patches)`; the others are masked. The noise
comes from a `keras.random.SeedGenerator` stored on the layer, so every training step draws a
fresh mask on every backend (an int seed would be baked into a traced step and repeat the mask).
At inference the layer uses one fixed mask, the same for every example, drawn with numpy from its
`seed`: predictions are deterministic and do not depend on batch size or batch position.
"""

from __future__ import annotations

import math
from typing import cast

import keras
import numpy as np
from keras import ops

from kerasae._checks import check_choice, check_int, check_range, check_seed

POSITION_EMBEDDINGS = ("sincos", "learned")


# ----- plain functions --------------------------------------------------------------------------


def patch_grid(image_shape, patch_size: int) -> tuple[int, int]:
    """(rows, cols) of the patch grid; ValueError unless `patch_size` divides height and width."""
    image_shape = tuple(image_shape)
    if len(image_shape) != 3:
        raise ValueError(
            "patches need images of shape (height, width, channels); "
            f"got a per-example shape {image_shape}."
        )
    patch_size = check_int(patch_size, "patch_size")
    height, width = image_shape[0], image_shape[1]
    if height % patch_size or width % patch_size:
        raise ValueError(
            f"patch_size={patch_size} must divide the image height and width; got images of "
            f"shape {image_shape} ({height} x {width}). Pick a divisor of both, or resize."
        )
    return height // patch_size, width // patch_size


def check_mask_ratio(mask_ratio) -> float:
    """A number strictly between 0 and 1."""
    if isinstance(mask_ratio, bool) or not isinstance(mask_ratio, (int, float, np.number)):
        raise ValueError(f"mask_ratio must be a number in (0.0, 1.0); got {mask_ratio!r}.")
    return check_range(mask_ratio, 0.0, 1.0, "mask_ratio", inclusive=False)


def num_masked(num_patches: int, mask_ratio: float) -> int:
    """How many of `num_patches` patches each example has masked: round(mask_ratio * num_patches),
    which must leave at least one patch masked and one visible."""
    ratio = check_mask_ratio(mask_ratio)
    masked = int(round(ratio * num_patches))
    if not 0 < masked < num_patches:
        raise ValueError(
            f"mask_ratio={mask_ratio} masks round({ratio} * {num_patches}) = {masked} of the "
            f"{num_patches} patches; it must mask at least 1 and leave at least 1 visible. "
            "Use a smaller patch_size or a mask_ratio further from 0 and 1."
        )
    return masked


def patchify(images, patch_size: int):
    """(batch, H, W, C) images -> (batch, num_patches, patch_size**2 * C) patch vectors."""
    rows, cols = patch_grid(images.shape[1:], patch_size)
    channels = images.shape[-1]
    x = ops.reshape(images, (-1, rows, patch_size, cols, patch_size, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, rows * cols, patch_size * patch_size * channels))


def unpatchify(patches, patch_size: int, image_shape):
    """The inverse of `patchify`: (batch, num_patches, patch_dim) -> (batch, H, W, C)."""
    rows, cols = patch_grid(image_shape, patch_size)
    channels = image_shape[-1]
    x = ops.reshape(patches, (-1, rows, cols, patch_size, patch_size, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, rows * patch_size, cols * patch_size, channels))


def positions_hot(keep, num_patches: int):
    """(batch, num_keep) patch indices -> (batch, num_keep, num_patches) int32 one-hot rows.
    Written as a comparison rather than `one_hot`, which tf2onnx takes only for 1-D indices."""
    patches = ops.arange(num_patches, dtype="int32")[None, None, :]
    return ops.cast(ops.equal(ops.expand_dims(ops.cast(keep, "int32"), -1), patches), "int32")


def mask_from_keep(keep, num_patches: int):
    """(batch, num_keep) indices of the visible patches -> (batch, num_patches) float mask,
    1.0 where a patch is masked (hidden from the encoder, predicted by the decoder)."""
    seen = ops.sum(positions_hot(keep, num_patches), axis=1)
    return 1.0 - ops.cast(seen, "float32")


def gather_tokens(tokens, index):
    """tokens (batch, n, dim), index (batch, m) -> (batch, m, dim), row b holding
    tokens[b, index[b, j]]. One flat `take` (a plain Gather in ONNX; `take_along_axis` has no
    ONNX export from torch), exact on every device."""
    shape = ops.shape(tokens)
    batch, count, dim = shape[0], shape[1], tokens.shape[-1]
    offsets = ops.expand_dims(ops.arange(batch, dtype="int32") * count, -1)
    flat_index = ops.reshape(ops.cast(index, "int32") + offsets, (-1,))
    picked = ops.take(ops.reshape(tokens, (-1, dim)), flat_index, axis=0)
    return ops.reshape(picked, (batch, -1, dim))


def sincos_position_table(grid: tuple[int, int], dim: int) -> np.ndarray:
    """Fixed 2-D sine-cosine position embeddings (MAE's), shape (rows * cols, dim): half the
    dimensions encode the patch row, half the column, each as sin and cos of
    position / 10000^(2i/(dim/2))."""
    if dim % 4:
        raise ValueError(
            f"sine-cosine position embeddings need a width divisible by 4; got {dim}. "
            "Change the embedding width or use pos_embedding='learned'."
        )
    rows, cols = np.meshgrid(np.arange(grid[0]), np.arange(grid[1]), indexing="ij")
    quarter = dim // 4
    omega = 1.0 / 10000 ** (np.arange(quarter, dtype="float64") / quarter)

    def encode(positions):
        angles = positions.reshape(-1, 1).astype("float64") * omega[None, :]
        return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)

    return np.concatenate([encode(rows), encode(cols)], axis=1).astype("float32")


# ----- layers -----------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="kerasae")
class Patchify(keras.layers.Layer):
    """(batch, H, W, C) images -> (batch, num_patches, patch_size**2 * C); see `patchify`."""

    def __init__(self, patch_size: int, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = check_int(patch_size, "patch_size")

    def build(self, input_shape):
        patch_grid(input_shape[1:], self.patch_size)
        self.built = True

    def call(self, inputs):
        return patchify(inputs, self.patch_size)

    def compute_output_shape(self, input_shape):
        rows, cols = patch_grid(input_shape[1:], self.patch_size)
        return (input_shape[0], rows * cols, self.patch_size**2 * input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "patch_size": self.patch_size}


@keras.saving.register_keras_serializable(package="kerasae")
class Unpatchify(keras.layers.Layer):
    """(batch, num_patches, patch_dim) -> (batch, H, W, C) images; see `unpatchify`."""

    def __init__(self, patch_size: int, image_shape, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = check_int(patch_size, "patch_size")
        self.image_shape = tuple(int(d) for d in image_shape)
        patch_grid(self.image_shape, self.patch_size)

    def call(self, inputs):
        return unpatchify(inputs, self.patch_size, self.image_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.image_shape)

    def get_config(self):
        return {**super().get_config(), "patch_size": self.patch_size,
                "image_shape": list(self.image_shape)}


@keras.saving.register_keras_serializable(package="kerasae")
class RandomPatchMasking(keras.layers.Layer):
    """Chooses the visible patches of each example: takes (batch, num_patches, ...) and returns
    `(keep, mask)`: `keep` (batch, num_keep) int32 indices of the visible patches, in the
    order the encoder sees them, and `mask` (batch, num_patches) float, 1.0 = masked.

    Training: per-example shuffling by the argsort of uniform noise from the layer's
    SeedGenerator, a fresh draw every step. Inference: `inference_keep()`, one mask fixed by
    `seed` (0 when None), identical for every example.
    """

    def __init__(self, mask_ratio: float = 0.75, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.mask_ratio = check_mask_ratio(mask_ratio)
        self.seed = check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.num_patches: int | None = None
        self.num_keep: int | None = None

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[1] is None:
            raise ValueError(
                "RandomPatchMasking needs inputs (batch, num_patches, ...) with a known number "
                f"of patches; got shape {input_shape}."
            )
        self.num_patches = int(input_shape[1])
        self.num_keep = self.num_patches - num_masked(self.num_patches, self.mask_ratio)
        self.built = True

    def inference_keep(self) -> np.ndarray:
        """The visible patch indices used at inference, shape (num_keep,)."""
        rng = np.random.default_rng(0 if self.seed is None else self.seed)
        return np.argsort(rng.random(self.num_patches), kind="stable")[: self.num_keep].astype(
            "int32"
        )

    def call(self, inputs, training=None):
        batch = ops.shape(inputs)[0]
        if training:
            noise = keras.random.uniform((batch, self.num_patches), seed=self.seed_generator)
            keep = ops.argsort(noise, axis=-1)[:, : self.num_keep]
        else:
            fixed = ops.convert_to_tensor(self.inference_keep()[None, :], dtype="int32")
            keep = ops.broadcast_to(fixed, (batch, self.num_keep))
        keep = ops.cast(keep, "int32")
        num_patches = cast(int, self.num_patches)  # set by build()
        return keep, ops.cast(mask_from_keep(keep, num_patches), self.compute_dtype)

    def compute_output_spec(self, inputs, training=None):
        batch = inputs.shape[0]
        return (
            keras.KerasTensor((batch, self.num_keep), dtype="int32"),
            keras.KerasTensor((batch, self.num_patches), dtype=self.compute_dtype),
        )

    def get_config(self):
        return {**super().get_config(), "mask_ratio": self.mask_ratio, "seed": self.seed}


@keras.saving.register_keras_serializable(package="kerasae")
class AllPatches(keras.layers.Layer):
    """Keep every patch: (batch, num_patches, ...) -> (batch, num_patches) int32 indices
    0..num_patches-1, the `keep` input of an encoder that should see the whole image."""

    def call(self, inputs):
        count = inputs.shape[1]
        indices = ops.arange(count, dtype="int32")[None, :]
        return ops.broadcast_to(indices, (ops.shape(inputs)[0], count))

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs.shape[0], inputs.shape[1]), dtype="int32")


@keras.saving.register_keras_serializable(package="kerasae")
class GatherPatches(keras.layers.Layer):
    """[tokens (batch, num_patches, dim), keep (batch, num_keep)] -> (batch, num_keep, dim):
    the tokens of the visible patches, in the order of `keep`."""

    def call(self, inputs):
        tokens, keep = inputs
        return gather_tokens(tokens, keep)

    def compute_output_shape(self, input_shape):
        tokens_shape, keep_shape = input_shape
        return (tokens_shape[0], keep_shape[1], tokens_shape[-1])


@keras.saving.register_keras_serializable(package="kerasae")
class ScatterPatches(keras.layers.Layer):
    """[tokens (batch, num_keep, dim), keep (batch, num_keep)] -> (batch, num_patches, dim):
    each visible token back at its patch position, a learned mask token everywhere else."""

    def __init__(self, num_patches: int, **kwargs):
        super().__init__(**kwargs)
        self.num_patches = check_int(num_patches, "num_patches")

    def build(self, input_shape):
        dim = input_shape[0][-1]
        self.mask_token = self.add_weight(
            shape=(dim,), initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="mask_token",
        )
        self.built = True

    def call(self, inputs):
        tokens, keep = inputs
        count = ops.shape(keep)[1]
        hot = positions_hot(keep, self.num_patches)  # (batch, num_keep, num_patches)
        slots = ops.arange(count, dtype="int32")[None, :, None]
        # where patch p sits in [visible tokens..., mask token]: its slot, or `count` if masked
        seen = ops.sum(hot, axis=1)
        index = ops.where(seen > 0, ops.sum(hot * slots, axis=1), count)
        batch, dim = ops.shape(tokens)[0], tokens.shape[-1]
        mask_token = ops.cast(self.mask_token, tokens.dtype)[None, None, :]
        padded = ops.concatenate([tokens, ops.broadcast_to(mask_token, (batch, 1, dim))], axis=1)
        return gather_tokens(padded, index)

    def compute_output_shape(self, input_shape):
        tokens_shape = input_shape[0]
        return (tokens_shape[0], self.num_patches, tokens_shape[-1])

    def get_config(self):
        return {**super().get_config(), "num_patches": self.num_patches}


@keras.saving.register_keras_serializable(package="kerasae")
class PositionEmbedding(keras.layers.Layer):
    """Adds a position embedding to (batch, rows * cols, dim) tokens: fixed 2-D sine-cosine
    ("sincos", as in MAE) or learned ("learned", initialised N(0, 0.02^2))."""

    def __init__(self, grid, kind: str = "sincos", **kwargs):
        super().__init__(**kwargs)
        if len(grid) != 2:
            raise ValueError(f"grid must be (rows, cols) of patches; got {grid!r}.")
        self.grid = (check_int(grid[0], "grid"), check_int(grid[1], "grid"))
        self.kind = check_choice(kind, POSITION_EMBEDDINGS, "pos_embedding")

    def build(self, input_shape):
        count, dim = math.prod(self.grid), input_shape[-1]
        if input_shape[1] is not None and input_shape[1] != count:
            raise ValueError(
                f"PositionEmbedding for a {self.grid[0]} x {self.grid[1]} patch grid expects "
                f"{count} tokens; got inputs of shape {input_shape}."
            )
        if self.kind == "sincos":
            table = sincos_position_table(self.grid, dim)[None]

            def initializer(shape, dtype=None):
                return ops.convert_to_tensor(table, dtype=dtype)
        else:
            initializer = keras.initializers.TruncatedNormal(stddev=0.02)
        self.embedding = self.add_weight(
            shape=(1, count, dim), initializer=initializer, trainable=self.kind == "learned",
            name="embedding",
        )
        self.built = True

    def call(self, inputs):
        return inputs + ops.cast(self.embedding, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "grid": list(self.grid), "kind": self.kind}
