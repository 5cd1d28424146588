"""AdjointConv2DTranspose equals keras.layers.Conv2DTranspose in outputs and in gradients
(on JAX it computes them another way, for speed; elsewhere it is the stock layer)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerasae.conv import AdjointConv2DTranspose


def gradients(layer, x, cotangent):
    """d sum(layer(x) * cotangent) / d (x, kernel, bias), as numpy, on the current backend."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        def objective(x, kernel, bias):
            values = [kernel, bias]
            outputs, _ = layer.stateless_call(values, [], x)
            return (outputs * cotangent).sum()

        return [np.asarray(g) for g in jax.grad(objective, (0, 1, 2))(
            x, layer.kernel.value, layer.bias.value)]
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            objective = tf.reduce_sum(layer(x) * cotangent)
        return [g.numpy() for g in tape.gradient(objective, [x, layer.kernel, layer.bias])]
    import torch

    x = torch.tensor(x, requires_grad=True)
    objective = (layer(x) * torch.tensor(cotangent)).sum()
    objective.backward()
    return [t.grad.numpy() for t in (x, layer.kernel.value, layer.bias.value)]


@pytest.mark.parametrize(("kernel_size", "strides", "height"), [(3, 2, 7), (5, 2, 4), (3, 1, 6),
                                                                 (4, 2, 5)])
def test_same_outputs_and_gradients_as_conv2d_transpose(kernel_size, strides, height):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, height, height + 1, 3)).astype("float32")
    stock = keras.layers.Conv2DTranspose(4, kernel_size, strides=strides, padding="same")
    adjoint = AdjointConv2DTranspose(4, kernel_size, strides=strides, padding="same")
    expected = keras.ops.convert_to_numpy(stock(x))
    adjoint.build(x.shape)
    adjoint.set_weights(stock.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(adjoint(x)), expected, atol=1e-5)
    cotangent = rng.standard_normal(expected.shape).astype("float32")
    for got, want in zip(gradients(adjoint, x, cotangent), gradients(stock, x, cotangent),
                         strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_round_trips_through_its_config():
    layer = AdjointConv2DTranspose(4, 3, strides=2, padding="same", name="up")
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(clone) is AdjointConv2DTranspose and clone.get_config() == layer.get_config()
