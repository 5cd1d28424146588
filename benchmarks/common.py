"""Shared setup for the benchmark workers: data, the canonical conv VAE, argument parsing.

Workers run as `python -m benchmarks.<module> ...` in a fresh process per Keras backend, since
the backend is fixed when Keras is first imported. Keras is imported inside functions only, after
`KERAS_BACKEND` is set."""

from __future__ import annotations

import argparse
import math
import os

import numpy as np

# The canonical conv VAE of section 1 (what `kerasae.build` is asked for; the conv architecture
# has no hidden dense layer, and build refuses hidden_units for it).
VAE_KWARGS = dict(input_shape=(28, 28, 1), latent_dim=16, architecture="conv", filters=(32, 64))

# The 64x64 net of the dSprites presets (kerasae/presets/recipes.py, beta_vae_dsprites; the CelebA
# preset has the same layers on 3 channels), trained at batch 64: `kerasae.build("beta_vae", ...)`.
DSPRITES_KWARGS = dict(input_shape=(64, 64, 1), latent_dim=10, beta=16.0, architecture="conv",
                       filters=(32, 32, 64, 64), likelihood="bernoulli")


THREADS_ENV = "KERASAE_BENCH_THREADS"


def set_backend(backend: str | None) -> None:
    """Fix the Keras backend for this process (must run before Keras is imported), and pin
    TensorFlow's thread pools when run.py was given --threads (torch and JAX read their
    environment variables, set by run.py, at import)."""
    if backend:
        os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    threads = threads_setting()
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def threads_setting() -> int | None:
    """The --threads of run.py (None: each framework's default)."""
    value = os.environ.get(THREADS_ENV)
    return int(value) if value else None


def thread_env(threads: int | None) -> dict[str, str]:
    """Environment variables that pin every framework's intra-op pool to `threads`."""
    if not threads:
        return {}
    env = {THREADS_ENV: str(threads), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "TF_NUM_INTRAOP_THREADS": str(threads)}
    if threads == 1:  # XLA has no thread-count flag; it can only turn its Eigen pool off
        env["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                            " --xla_cpu_multi_thread_eigen=false").strip()
    return env


def mnist_images(n: int) -> np.ndarray:
    """n MNIST-shaped images float32 (n, 28, 28, 1) in [0, 1]: the shipped 2,000-digit sample,
    tiled (no download)."""
    from kerasae.data import load_mnist_sample

    (x, _), _ = load_mnist_sample()
    reps = math.ceil(n / len(x))
    return np.ascontiguousarray(np.concatenate([x] * reps)[:n], dtype=np.float32)


NETS = ("28", "64")


def net_spec(net: str) -> dict:
    """What section 1 trains for `net`: "28" the canonical 28x28 VAE (batch 128, MNIST
    images), "64" the 64x64 net of the dSprites/CelebA presets (batch 64, as their recipes;
    synthetic binary 64x64 images: speed does not depend on the pixel values)."""
    if net == "28":
        return {"variant": "vae", "build": VAE_KWARGS, "batch_size": 128,
                "loop": {"latent_dim": 16, "filters": (32, 64)}}
    if net == "64":
        return {"variant": "beta_vae", "build": DSPRITES_KWARGS, "batch_size": 64,
                "loop": {"latent_dim": 10, "filters": (32, 32, 64, 64)}}
    raise ValueError(f"net must be one of {NETS}; got {net!r}")


def net_images(net: str, n: int) -> np.ndarray:
    """n float32 NHWC training images for `net` (see net_spec)."""
    if net == "28":
        return mnist_images(n)
    rng = np.random.default_rng(0)
    return (rng.random((n, *DSPRITES_KWARGS["input_shape"])) < 0.1).astype(np.float32)


def build_net(net: str, seed: int = 0, compile_kwargs: dict | None = None):
    """kerasae's model for `net`, compiled with Adam(1e-3) (see build_kerasae_vae)."""
    import keras

    import kerasae

    spec = net_spec(net)
    model = kerasae.build(spec["variant"], seed=seed, **spec["build"])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), **(compile_kwargs or {}))
    return model


def build_kerasae_vae(seed: int = 0, compile_kwargs: dict | None = None, cls=None):
    """The canonical conv VAE built by kerasae, compiled with Adam(1e-3) (Keras' defaults
    otherwise). `cls` swaps in a subclass of VariationalAutoencoder (speed experiments)."""
    import keras

    import kerasae

    model = kerasae.build("vae", seed=seed, **VAE_KWARGS)
    if cls is not None:
        model = cls.from_config(model.get_config())
    model.compile(optimizer=keras.optimizers.Adam(1e-3), **(compile_kwargs or {}))
    return model


def trainable_count(model) -> int:
    return int(sum(math.prod(w.shape) for w in model.trainable_weights))


def steps_for(seconds_per_step: float, target_s: float, min_steps: int, max_steps: int) -> int:
    """How many steps make one timed repeat last about `target_s` seconds."""
    wanted = int(round(target_s / max(seconds_per_step, 1e-6)))
    return max(min_steps, min(max_steps, wanted))


def training_parser(description: str | None, *, backend: bool = True, warm_steps: int = 3,
                    max_steps: int = 100) -> argparse.ArgumentParser:
    """The options every training benchmark takes: batch, repeats, time per repeat, steps."""
    parser = argparse.ArgumentParser(description=description)
    if backend:
        parser.add_argument("--backend", default=None)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="default: 128 (the 64x64 net of section 1: 64)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--target-s", type=float, default=10.0)
    parser.add_argument("--warm-steps", type=int, default=warm_steps)
    parser.add_argument("--min-steps", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=max_steps)
    return parser


def build_plain_keras_vae(input_shape=(28, 28, 1), latent_dim: int = 16, filters=(32, 64),
                          seed: int = 0, compile_kwargs: dict | None = None):
    """The canonical conv VAE in plain Keras (stock layers, a `compute_loss` of five lines, no
    kerasae), compiled with Adam(1e-3): what Keras' own `fit` costs for the same layers."""
    import keras
    from keras import layers, ops

    keras.utils.set_random_seed(seed)
    scale = 2 ** len(filters)
    h0, w0 = input_shape[0] // scale, input_shape[1] // scale
    x = keras.Input(input_shape)
    h = x
    for f in filters:
        h = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.Flatten()(h)
    encoder = keras.Model(x, [layers.Dense(latent_dim)(h), layers.Dense(latent_dim)(h)])
    z = keras.Input((latent_dim,))
    h = layers.Dense(h0 * w0 * filters[-1], activation="relu")(z)
    h = layers.Reshape((h0, w0, filters[-1]))(h)
    for f in reversed(filters):
        h = layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu")(h)
    decoder = keras.Model(z, layers.Conv2D(input_shape[-1], 3, padding="same")(h))

    class PlainVAE(keras.Model):
        def __init__(self):
            super().__init__()
            self.encoder, self.decoder = encoder, decoder
            self.noise = keras.random.SeedGenerator(seed)

        def call(self, x):
            mean, raw = self.encoder(x)
            log_var = 10.0 * ops.tanh(raw / 10.0)
            eps = keras.random.normal(ops.shape(mean), seed=self.noise)
            return self.decoder(mean + ops.exp(0.5 * log_var) * eps), mean, log_var

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            logits, mean, log_var = y_pred
            recon = ops.mean(ops.sum(ops.softplus(logits) - x * logits, axis=(1, 2, 3)))
            kl = 0.5 * (ops.exp(log_var) + ops.square(mean) - 1.0 - log_var)
            return recon + ops.sum(ops.mean(kl, axis=0))

    model = PlainVAE()
    model(np.zeros((1, *input_shape), "float32"))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), **(compile_kwargs or {}))
    return model
