"""The one place with per-backend gradient code.

`keras.ops` has no derivative operator, and the contractive penalty needs the Jacobian of the
encoder inside the training objective (a gradient of a gradient). Everything else in kerasae is
backend-neutral.
"""

from __future__ import annotations

from collections.abc import Callable

import keras


def batch_jacobian(fn: Callable, x):
    """Jacobian of an example-wise function: d fn(x)[b, i] / d x[b, ...], shape (batch, out, *in).

    `fn` maps a batch (batch, *in) to (batch, out) and must treat examples independently.
    The result is differentiable, so it can sit inside a loss that is itself differentiated.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        return tape.batch_jacobian(y, x)
    if backend == "jax":
        import jax

        def single(example):
            return fn(example[None])[0]

        return jax.vmap(jax.jacrev(single))(x)
    if backend == "torch":
        import torch

        # Keras runs evaluation under no_grad; the Jacobian needs autograd either way.
        with torch.enable_grad():
            if not x.requires_grad:
                x = x.detach().requires_grad_(True)
            y = fn(x)
            rows = [
                torch.autograd.grad(y[:, i].sum(), x, create_graph=True)[0]
                for i in range(y.shape[1])
            ]
        return torch.stack(rows, dim=1)
    raise NotImplementedError(
        f"batch_jacobian supports the tensorflow, jax and torch backends; got {backend!r}."
    )
