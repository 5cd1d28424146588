"""The canonical conv VAE written by hand in raw TensorFlow: tf.Variables and tf.nn ops, no Keras.

It mirrors what `kerasae.build("vae", input_shape=(28, 28, 1), latent_dim=16,
architecture="conv", filters=(32, 64))` builds (kerasae/networks.py, kerasae/models/vae.py), so
its speed is the reference for kerasae's `fit` on the TensorFlow backend:

  encoder: Conv2D(f, 3, stride 2, SAME, relu) per filter -> Flatten -> Dense(latent) mean and
           Dense(latent) raw log-variance, log_var = 10 tanh(raw / 10)
  sampling: z = mean + exp(log_var / 2) * eps
  decoder: Dense(h0 * w0 * f_last, relu) -> reshape -> Conv2DTranspose(f, 3, stride 2, SAME,
           relu) per reversed filter -> Conv2D(channels, 3, SAME) Bernoulli logits
  loss:    mean over the batch of sum over pixels (softplus(l) - x l) + KL(q || N(0, I))
  Adam:    lr 1e-3, betas (0.9, 0.999), eps 1e-7 (Keras' defaults), written out by hand.

Initialisation is Glorot-uniform kernels and zero biases, as Keras'.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

LOG_VAR_BOUND = 10.0


def _glorot(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return tf.Variable(rng.uniform(-limit, limit, shape).astype("float32"))


def _zeros(n: int):
    return tf.Variable(tf.zeros((n,), tf.float32))


class TFConvVAE(tf.Module):
    """Raw-TF conv VAE with a hand-written Adam step compiled by `tf.function`."""

    def __init__(self, input_shape=(28, 28, 1), latent_dim: int = 16, filters=(32, 64),
                 kernel_size: int = 3, learning_rate: float = 1e-3, seed: int = 0,
                 jit_compile: bool = False):
        super().__init__(name="tf_conv_vae")
        height, width, channels = input_shape
        scale = 2 ** len(filters)
        if height % scale or width % scale:
            raise ValueError(f"no crop in the hand-written net: sizes must divide by {scale}")
        rng = np.random.default_rng(seed)
        k = kernel_size
        self.shape = (height, width, channels)
        self.latent_dim = latent_dim
        self.h0, self.w0, self.f_last = height // scale, width // scale, filters[-1]
        self.enc_convs = []
        c_in = channels
        for f in filters:  # Keras Conv2D kernel: (k, k, in, out); fans k*k*in, k*k*out
            self.enc_convs.append((_glorot(rng, (k, k, c_in, f), k * k * c_in, k * k * f),
                                   _zeros(f)))
            c_in = f
        flat = self.h0 * self.w0 * self.f_last
        self.mean_w, self.mean_b = _glorot(rng, (flat, latent_dim), flat, latent_dim), _zeros(
            latent_dim)
        self.lv_w, self.lv_b = _glorot(rng, (flat, latent_dim), flat, latent_dim), _zeros(
            latent_dim)
        self.proj_w, self.proj_b = _glorot(rng, (latent_dim, flat), latent_dim, flat), _zeros(flat)
        self.dec_deconvs = []
        c_in = self.f_last
        for f in reversed(filters):  # Keras Conv2DTranspose kernel: (k, k, out, in)
            self.dec_deconvs.append((_glorot(rng, (k, k, f, c_in), k * k * c_in, k * k * f),
                                     _zeros(f)))
            c_in = f
        self.out_w = _glorot(rng, (k, k, c_in, channels), k * k * c_in, k * k * channels)
        self.out_b = _zeros(channels)
        self.params = [v for v in self.trainable_variables]
        self.m = [tf.Variable(tf.zeros_like(v)) for v in self.params]
        self.v = [tf.Variable(tf.zeros_like(v)) for v in self.params]
        self.t = tf.Variable(0.0)
        self.lr = learning_rate
        self.noise = tf.random.Generator.from_seed(seed)
        self.train_step = tf.function(self._train_step, jit_compile=jit_compile)
        self.loss_fn = tf.function(self.loss, jit_compile=jit_compile)

    def count_params(self) -> int:
        return int(sum(np.prod(v.shape) for v in self.params))

    def encode(self, x):
        h = x
        for kernel, bias in self.enc_convs:
            h = tf.nn.relu(tf.nn.conv2d(h, kernel, 2, "SAME") + bias)
        h = tf.reshape(h, (-1, self.h0 * self.w0 * self.f_last))
        raw = h @ self.lv_w + self.lv_b
        return h @ self.mean_w + self.mean_b, LOG_VAR_BOUND * tf.tanh(raw / LOG_VAR_BOUND)

    def decode(self, z):
        h = tf.nn.relu(z @ self.proj_w + self.proj_b)
        h = tf.reshape(h, (-1, self.h0, self.w0, self.f_last))
        batch = tf.shape(z)[0]
        size_h, size_w = self.h0, self.w0
        for kernel, bias in self.dec_deconvs:
            size_h, size_w = size_h * 2, size_w * 2
            out_shape = tf.stack([batch, size_h, size_w, kernel.shape[2]])
            h = tf.nn.relu(tf.nn.conv2d_transpose(h, kernel, out_shape, 2, "SAME") + bias)
        return tf.nn.conv2d(h, self.out_w, 1, "SAME") + self.out_b

    def loss(self, x, eps=None):
        """Negative ELBO (nats, batch mean) with one reparameterised sample (`eps`, the standard
        normal draw, when given: zeros give the posterior mean)."""
        mean, log_var = self.encode(x)
        eps = self.noise.normal(tf.shape(mean)) if eps is None else eps
        logits = self.decode(mean + tf.exp(0.5 * log_var) * eps)
        recon = tf.reduce_mean(tf.reduce_sum(tf.nn.softplus(logits) - x * logits, [1, 2, 3]))
        kl = tf.reduce_sum(tf.reduce_mean(
            0.5 * (tf.exp(log_var) + tf.square(mean) - 1.0 - log_var), axis=0))
        return recon + kl

    def _train_step(self, x):
        with tf.GradientTape() as tape:
            loss = self.loss(x)
        grads = tape.gradient(loss, self.params)
        self.t.assign_add(1.0)
        b1, b2, eps = 0.9, 0.999, 1e-7
        lr = self.lr * tf.sqrt(1.0 - b2 ** self.t) / (1.0 - b1 ** self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m.assign_add((g - m) * (1.0 - b1))
            v.assign_add((tf.square(g) - v) * (1.0 - b2))
            p.assign_sub(lr * m / (tf.sqrt(v) + eps))
        return loss


class TFLoop:
    """Shuffled mini-batch training on an in-memory tensor, one `tf.function` call per step."""

    def __init__(self, x: np.ndarray, batch_size: int, seed: int = 0, **net_kwargs):
        self.net = TFConvVAE(input_shape=x.shape[1:], seed=seed, **net_kwargs)
        self.data = tf.constant(x)
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)

    def train(self, steps: int) -> float:
        """`steps` Adam steps on batches of a fresh permutation; returns the last loss."""
        order = tf.constant(self.rng.permutation(len(self.data)).astype("int32"))
        loss = None
        for i in range(steps):
            start = (i * self.batch_size) % (len(self.data) - self.batch_size + 1)
            batch = tf.gather(self.data, order[start : start + self.batch_size])
            loss = self.net.train_step(batch)
        return float(loss)
