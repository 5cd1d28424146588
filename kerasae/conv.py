"""A Conv2DTranspose with a fast kernel gradient on JAX.

XLA on CPU computes the kernel gradient of a strided transposed convolution as a
window-dilated convolution that is 15x slower than the kernel gradient of the strided
convolution it mirrors (benchmarks/README.md). The transposed convolution is the input-gradient
of that strided "same" convolution, so both its gradients can be written with the strided
convolution; a `jax.custom_vjp` does this. Other backends, and settings outside the checked
case (odd kernel, "same" padding, no dilation or output padding, channels last), use the
stock layer unchanged.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="kerasae")
class AdjointConv2DTranspose(keras.layers.Conv2DTranspose):
    """keras.layers.Conv2DTranspose with the same weights, outputs and gradients; on JAX its
    gradients go through the strided convolution it is the adjoint of."""

    def _adjoint_applies(self, inputs) -> bool:
        return (
            keras.backend.backend() == "jax"
            and self.padding == "same"
            and self.data_format == "channels_last"
            and self.output_padding is None
            and tuple(self.dilation_rate) == (1, 1)
            and all(k % 2 == 1 for k in self.kernel_size)
            and None not in tuple(inputs.shape[1:3])
        )

    def call(self, inputs):
        if not self._adjoint_applies(inputs):
            return super().call(inputs)
        out_hw = tuple(int(d) * s for d, s in zip(inputs.shape[1:3], self.strides, strict=True))
        y = _jax_conv_transpose(inputs, keras.ops.convert_to_tensor(self.kernel), out_hw,
                                tuple(self.strides))
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)


def _jax_conv_transpose(x, kernel, out_hw: tuple[int, int], strides: tuple[int, int]):
    """conv_transpose(x, kernel) as the vector-Jacobian product of z -> conv(z, kernel)."""
    import jax
    import jax.numpy as jnp

    # Keras keeps the transposed kernel as (h, w, filters, inputs): for the strided conv
    # from the (filters-channel) output back to the input that is HWIO.
    numbers = ("NHWC", "HWIO", "NHWC")

    def conv(z, k):
        return jax.lax.conv_general_dilated(z, k, strides, "SAME", dimension_numbers=numbers)

    @jax.custom_vjp
    def transpose(x, k):
        zeros = jnp.zeros((x.shape[0], *out_hw, k.shape[2]), x.dtype)
        return jax.vjp(lambda z: conv(z, k), zeros)[1](x)[0]

    def forward(x, k):
        return transpose(x, k), (x, k)

    def backward(residuals, g):
        x, k = residuals
        return conv(g, k), jax.vjp(lambda kk: conv(g, kk), k)[1](x)[0]

    transpose.defvjp(forward, backward)
    return transpose(x, kernel)
