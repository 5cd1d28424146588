"""The canonical conv VAE written by hand in JAX (jax.lax convolutions, a pytree of arrays, one
`jax.jit` train step with its buffers donated), the reference for kerasae's `fit` on the JAX
backend: the speed XLA gives this network on this CPU without Keras.

Same layers, parameter count, loss and Adam as `benchmarks/networks_tf.py` (see there). The
transposed convolutions are kerasae.conv's adjoint formulation (the input-gradient of the
strided convolution, whose kernel gradient XLA computes 15x faster than that of
`lax.conv_transpose`): the fastest form of this layer known here, so the loop is the floor
for XLA, not a slower straw man.
"""

from __future__ import annotations

import math

import numpy as np

LOG_VAR_BOUND = 10.0
NUMBERS = ("NHWC", "HWIO", "NHWC")


def _glorot(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype("float32")


def init_params(input_shape=(28, 28, 1), latent_dim: int = 16, filters=(32, 64),
                kernel_size: int = 3, seed: int = 0) -> dict:
    """Glorot-uniform kernels and zero biases, as Keras', in Keras' kernel layouts."""
    height, width, channels = input_shape
    scale = 2 ** len(filters)
    if height % scale or width % scale:
        raise ValueError(f"no crop in the hand-written net: sizes must divide by {scale}")
    rng, k = np.random.default_rng(seed), kernel_size
    zeros = lambda n: np.zeros((n,), "float32")  # noqa: E731
    params: dict = {"enc": [], "dec": []}
    c_in = channels
    for f in filters:
        params["enc"].append((_glorot(rng, (k, k, c_in, f), k * k * c_in, k * k * f), zeros(f)))
        c_in = f
    flat = (height // scale) * (width // scale) * filters[-1]
    params["mean"] = (_glorot(rng, (flat, latent_dim), flat, latent_dim), zeros(latent_dim))
    params["log_var"] = (_glorot(rng, (flat, latent_dim), flat, latent_dim), zeros(latent_dim))
    params["project"] = (_glorot(rng, (latent_dim, flat), latent_dim, flat), zeros(flat))
    for f in reversed(filters):  # Keras Conv2DTranspose kernel: (k, k, out, in)
        params["dec"].append((_glorot(rng, (k, k, f, c_in), k * k * c_in, k * k * f), zeros(f)))
        c_in = f
    params["out"] = (_glorot(rng, (k, k, c_in, channels), k * k * c_in, k * k * channels),
                     zeros(channels))
    return params


class JaxConvVAE:
    """Negative ELBO and a hand-written Adam step (lr 1e-3, Keras' betas and epsilon), jitted."""

    def __init__(self, input_shape=(28, 28, 1), latent_dim: int = 16, filters=(32, 64),
                 kernel_size: int = 3, learning_rate: float = 1e-3, seed: int = 0):
        import jax

        self.shape = tuple(input_shape)
        scale = 2 ** len(filters)
        self.h0, self.w0 = input_shape[0] // scale, input_shape[1] // scale
        self.f_last = filters[-1]
        self.lr = learning_rate
        params = jax.tree.map(jax.numpy.asarray, init_params(
            input_shape, latent_dim, filters, kernel_size, seed))

        def zeros():
            return jax.tree.map(jax.numpy.zeros_like, params)

        # (parameters, Adam's m and v, step, noise key); the jitted step donates and replaces it
        self.state = (params, zeros(), zeros(), jax.numpy.zeros(()), jax.random.key(seed))
        self.train_step = jax.jit(self._train_step, donate_argnums=0)

    def count_params(self) -> int:
        import jax

        return int(sum(np.prod(p.shape) for p in jax.tree.leaves(self.state[0])))

    def loss(self, params, x, key):
        """Negative ELBO (nats, batch mean) with one reparameterised sample drawn from `key`."""
        import jax

        return self.loss_with_noise(params, x, jax.random.normal(
            key, (len(x), params["mean"][0].shape[1])))

    def loss_with_noise(self, params, x, eps):
        """The same with the standard normal draw `eps` given (zeros: the posterior mean)."""
        import jax
        import jax.numpy as jnp

        from kerasae.conv import _jax_conv_transpose

        h = x
        for kernel, bias in params["enc"]:
            h = jax.nn.relu(jax.lax.conv_general_dilated(h, kernel, (2, 2), "SAME",
                                                         dimension_numbers=NUMBERS) + bias)
        h = h.reshape(len(x), -1)
        mean = h @ params["mean"][0] + params["mean"][1]
        raw = h @ params["log_var"][0] + params["log_var"][1]
        log_var = LOG_VAR_BOUND * jnp.tanh(raw / LOG_VAR_BOUND)
        z = mean + jnp.exp(0.5 * log_var) * eps
        h = jax.nn.relu(z @ params["project"][0] + params["project"][1])
        h = h.reshape(len(x), self.h0, self.w0, self.f_last)
        for kernel, bias in params["dec"]:
            out_hw = (h.shape[1] * 2, h.shape[2] * 2)
            h = jax.nn.relu(_jax_conv_transpose(h, kernel, out_hw, (2, 2)) + bias)
        logits = jax.lax.conv_general_dilated(h, params["out"][0], (1, 1), "SAME",
                                              dimension_numbers=NUMBERS) + params["out"][1]
        recon = jnp.mean(jnp.sum(jax.nn.softplus(logits) - x * logits, axis=(1, 2, 3)))
        kl = jnp.sum(jnp.mean(0.5 * (jnp.exp(log_var) + mean**2 - 1.0 - log_var), axis=0))
        return recon + kl

    def _train_step(self, state, x):
        import jax
        import jax.numpy as jnp

        params, m, v, t, key = state
        key, noise = jax.random.split(key)
        loss, grads = jax.value_and_grad(self.loss)(params, x, noise)
        t = t + 1.0
        b1, b2, eps = 0.9, 0.999, 1e-7
        lr = self.lr * jnp.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        m = jax.tree.map(lambda m, g: m + (g - m) * (1.0 - b1), m, grads)
        v = jax.tree.map(lambda v, g: v + (g * g - v) * (1.0 - b2), v, grads)
        params = jax.tree.map(lambda p, m, v: p - lr * m / (jnp.sqrt(v) + eps), params, m, v)
        return (params, m, v, t, key), loss


class JaxLoop:
    """Shuffled mini-batch training on an in-memory device array, one jitted call per step."""

    def __init__(self, x: np.ndarray, batch_size: int, seed: int = 0, **net_kwargs):
        import jax

        self.net = JaxConvVAE(input_shape=x.shape[1:], seed=seed, **net_kwargs)
        self.data = jax.device_put(x)
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)

    def train(self, steps: int) -> float:
        """`steps` Adam steps on batches of a fresh permutation; returns the last loss."""
        import jax.numpy as jnp

        order = jnp.asarray(self.rng.permutation(len(self.data)).astype("int32"))
        loss = None
        for i in range(steps):
            start = (i * self.batch_size) % (len(self.data) - self.batch_size + 1)
            batch = self.data[order[start : start + self.batch_size]]
            self.net.state, loss = self.net.train_step(self.net.state, batch)
        return float(loss)
