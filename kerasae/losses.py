"""The terms of every objective in the zoo, written once with `keras.ops` for all backends.

Per-example functions return shape (batch,); the models average them over the batch.
Every term is computed in float32 whatever dtype its inputs come in: under a mixed-precision
policy the networks run in float16 or bfloat16, but a loss summed over hundreds of elements
needs float32's precision (Keras' own losses cast the same way).
"""

from __future__ import annotations

from keras import ops

RECONSTRUCTION_LOSSES = ("mse", "bce")
_EPSILON = 1e-7
_LOG_2PI = 1.8378770664093453  # log(2 pi)


def float32(*tensors) -> list:
    """The tensors cast to float32 (a no-op for float32 ones)."""
    return [ops.cast(t, "float32") for t in tensors]


def _data_axes(x) -> list[int]:
    return list(range(1, len(x.shape)))


def squared_error(x, reconstruction):
    """Mean squared error of each example (mean over its elements)."""
    x, reconstruction = float32(x, reconstruction)
    return ops.mean(ops.square(x - reconstruction), axis=_data_axes(x))


def binary_cross_entropy(x, probabilities):
    """Mean binary cross-entropy of each example; for data and reconstructions in [0, 1]."""
    x, probabilities = float32(x, probabilities)
    p = ops.clip(probabilities, _EPSILON, 1.0 - _EPSILON)
    elementwise = -(x * ops.log(p) + (1.0 - x) * ops.log(1.0 - p))
    return ops.mean(elementwise, axis=_data_axes(x))


def reconstruction_error(x, reconstruction, kind: str):
    """The deterministic family's reconstruction term per example ("mse" or "bce")."""
    return squared_error(x, reconstruction) if kind == "mse" else binary_cross_entropy(
        x, reconstruction
    )


def bernoulli_nll(x, logits):
    """-log p(x | logits) summed over data dimensions; stable for any logit size."""
    x, logits = float32(x, logits)
    elementwise = ops.softplus(logits) - x * logits
    return ops.sum(elementwise, axis=_data_axes(x))


def gaussian_nll(x, mean, log_scale):
    """-log N(x; mean, exp(log_scale)^2) summed over data dimensions."""
    x, mean, log_scale = float32(x, mean, log_scale)
    z = (x - mean) * ops.exp(-log_scale)
    elementwise = 0.5 * ops.square(z) + log_scale + 0.5 * _LOG_2PI
    return ops.sum(elementwise, axis=_data_axes(x))


def gaussian_kl(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per latent dimension, shape (batch, latent)."""
    mean, log_var = float32(mean, log_var)
    return 0.5 * (ops.exp(log_var) + ops.square(mean) - 1.0 - log_var)


def gaussian_log_density(z, mean, log_var):
    """log N(z; mean, exp(log_var)) elementwise (no sum), in float32."""
    z, mean, log_var = float32(z, mean, log_var)
    return -0.5 * (_LOG_2PI + log_var + ops.square(z - mean) * ops.exp(-log_var))


def bernoulli_kl(rho: float, rho_hat):
    """KL(Bernoulli(rho) || Bernoulli(rho_hat)), elementwise: the sparse autoencoder's penalty."""
    rho_hat = ops.clip(ops.cast(rho_hat, "float32"), _EPSILON, 1.0 - _EPSILON)
    return rho * ops.log(rho / rho_hat) + (1.0 - rho) * ops.log((1.0 - rho) / (1.0 - rho_hat))


def kl_sparsity(code, rho: float):
    """sum_j KL(rho || rho_hat_j) with rho_hat_j the batch-mean activation of code unit j."""
    rho_hat = ops.mean(ops.cast(code, "float32"), axis=0)
    return ops.sum(bernoulli_kl(rho, rho_hat))


def l1_activity(code):
    """Mean over the batch of sum_j |h_j|."""
    return ops.mean(ops.sum(ops.abs(ops.cast(code, "float32")), axis=-1))


def squared_frobenius(jacobian):
    """||J||_F^2 of each example's Jacobian, shape (batch,)."""
    jacobian = ops.cast(jacobian, "float32")
    return ops.sum(ops.square(jacobian), axis=list(range(1, len(jacobian.shape))))
