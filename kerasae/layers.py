"""Layers the models are made of: input corruptions (denoising) and the VAE's sampling step.

Randomness always comes from a `keras.random.SeedGenerator` stored on the layer: an int seed
would be baked into a traced function and repeat the same noise at every step.
"""

from __future__ import annotations

import keras
from keras import ops

from kerasae._checks import check_choice, check_range

NOISE_KINDS = ("gaussian", "masking", "salt_and_pepper")


class _Corruption(keras.layers.Layer):
    """Corrupts its input while training and passes it through unchanged at inference."""

    def __init__(self, level: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.level = float(level)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or self.level == 0:
            return inputs
        return self.corrupt(inputs)

    def corrupt(self, inputs):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "level": self.level, "seed": self.seed}


@keras.saving.register_keras_serializable(package="kerasae")
class GaussianCorruption(_Corruption):
    """Additive Gaussian noise with standard deviation `level` (any scale of data), optionally
    clipped back into the data's range `clip=(low, high)`, as for images in [0, 1]."""

    def __init__(self, level: float, clip: tuple[float, float] | None = None, **kwargs):
        super().__init__(level, **kwargs)
        self.clip = None if clip is None else (float(clip[0]), float(clip[1]))

    def corrupt(self, inputs):
        noise = keras.random.normal(ops.shape(inputs), stddev=self.level, seed=self.seed_generator)
        noisy = inputs + ops.cast(noise, inputs.dtype)
        return noisy if self.clip is None else ops.clip(noisy, *self.clip)

    def get_config(self):
        return {**super().get_config(), "clip": self.clip}


@keras.saving.register_keras_serializable(package="kerasae")
class MaskingCorruption(_Corruption):
    """Sets each element to zero with probability `level` (no rescaling, unlike Dropout)."""

    def corrupt(self, inputs):
        keep = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) >= self.level
        return ops.where(keep, inputs, ops.zeros_like(inputs))


@keras.saving.register_keras_serializable(package="kerasae")
class SaltAndPepperCorruption(_Corruption):
    """Sets each element with probability `level` to `low` or `high`, each half the time."""

    def __init__(self, level: float, low: float = 0.0, high: float = 1.0, **kwargs):
        super().__init__(level, **kwargs)
        self.low, self.high = float(low), float(high)

    def corrupt(self, inputs):
        u = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator)
        salt = ops.full_like(inputs, self.high)
        pepper = ops.full_like(inputs, self.low)
        return ops.where(u < self.level / 2, pepper, ops.where(u < self.level, salt, inputs))

    def get_config(self):
        return {**super().get_config(), "low": self.low, "high": self.high}


def corruption(noise: str, level: float, seed: int | None = None,
               clip: tuple[float, float] | None = None) -> _Corruption:
    """The corruption layer for `noise` ("gaussian", "masking" or "salt_and_pepper").

    `clip` keeps Gaussian-noised data in a range (the other two never leave it)."""
    check_choice(noise, NOISE_KINDS, "noise")
    if noise == "gaussian":
        check_range(level, 0.0, float("inf"), "noise_level (the standard deviation for 'gaussian')")
        return GaussianCorruption(level, clip=clip, seed=seed, name="corruption")
    check_range(level, 0.0, 1.0, f"noise_level (the fraction of corrupted elements for {noise!r})")
    layer = MaskingCorruption if noise == "masking" else SaltAndPepperCorruption
    return layer(level, seed=seed, name="corruption")


@keras.saving.register_keras_serializable(package="kerasae")
class Sampling(keras.layers.Layer):
    """z = mean + exp(log_var / 2) * eps with fresh eps ~ N(0, I) at every call (the
    reparameterisation trick): the noise is differentiable-free, the path to mean and
    log-variance is not."""

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * ops.cast(eps, mean.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
