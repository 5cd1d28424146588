"""Functional-API encoder/decoder pairs: dense, convolutional and recurrent, built as mirrors.

Every builder returns a `keras.Model` whose layers have stable names prefixed by the network's
name ("encoder_dense_0", "decoder_dense_0"): weights saved on one backend load on another by
path, and the torch backend (which registers parameters by name) never sees two alike.

Under a mixed-precision policy the hidden layers run in float16 or bfloat16, and the layers that
produce a network's outputs (code heads, decoder read-out) keep float32, as Keras recommends:
codes, logits and reconstructions come out in float32 for the losses and for numpy callers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import keras
from keras import layers

from kerasae.conv import AdjointConv2DTranspose

OUTPUT_DTYPE = "float32"  # of the layers that produce a network's outputs, whatever the policy
DATA_FORMATS = ("channels_last", "channels_first")
_chosen_format: ContextVar[str | None] = ContextVar("conv_data_format", default=None)


def dense_encoder(
    input_shape: tuple[int, ...],
    outputs: int | tuple[int, ...],
    hidden_units: tuple[int, ...] = (),
    activation: str | None = "relu",
    code_activation: str | None = None,
    condition_dim: int | None = None,
    name: str = "encoder",
) -> keras.Model:
    """Flatten -> Dense(hidden_units...) -> Dense(outputs) per output head.

    `outputs` may be a tuple of sizes for several heads (the VAE's mean and log-variance).
    With `condition_dim`, a second input (a one-hot condition) joins after flattening.
    """
    inputs, x, condition = _inputs(input_shape, "x", condition_dim, name)
    h = layers.Flatten(name=f"{name}_flatten")(x) if len(input_shape) > 1 else x
    h = _join(h, condition)
    for i, units in enumerate(hidden_units):
        h = layers.Dense(units, activation=activation, name=f"{name}_dense_{i}")(h)
    return keras.Model(inputs, _heads(h, outputs, code_activation, name), name=name)


def dense_decoder(
    latent_dim: int,
    output_shape: tuple[int, ...],
    hidden_units: tuple[int, ...] = (),
    activation: str | None = "relu",
    output_activation: str | None = None,
    condition_dim: int | None = None,
    name: str = "decoder",
) -> keras.Model:
    """Dense(hidden_units reversed...) -> Dense(prod(output_shape)) -> Reshape(output_shape)."""
    inputs, z, condition = _inputs((latent_dim,), "z", condition_dim, name)
    h = _join(z, condition)
    for i, units in enumerate(reversed(hidden_units)):
        h = layers.Dense(units, activation=activation, name=f"{name}_dense_{i}")(h)
    h = layers.Dense(
        math.prod(output_shape), activation=output_activation, name=f"{name}_output",
        dtype=OUTPUT_DTYPE,
    )(h)
    if len(output_shape) > 1:
        h = layers.Reshape(output_shape, name=f"{name}_reshape", dtype=OUTPUT_DTYPE)(h)
    return keras.Model(inputs, h, name=name)


def conv_encoder(
    input_shape: tuple[int, int, int],
    outputs: int | tuple[int, ...],
    filters: tuple[int, ...] = (32, 64),
    kernel_size: int = 3,
    activation: str | None = "relu",
    code_activation: str | None = None,
    condition_dim: int | None = None,
    name: str = "encoder",
    data_format: str | None = None,
) -> keras.Model:
    """Strided Conv2D blocks (each halves height and width) -> Flatten -> Dense head(s).
    `data_format` is the layout the stack runs in (default `conv_layout()`); the input is
    channels last either way."""
    inputs, h, condition = _inputs(input_shape, "x", condition_dim, name)
    layout = _checked_format(data_format)
    h = _to_layout(h, layout, f"{name}_to_channels_first")
    for i, f in enumerate(filters):
        h = layers.Conv2D(f, kernel_size, strides=2, padding="same", activation=activation,
                          data_format=layout, name=f"{name}_conv_{i}")(h)
    h = _from_layout(h, layout, f"{name}_to_channels_last")
    h = _join(layers.Flatten(name=f"{name}_flatten")(h), condition)
    return keras.Model(inputs, _heads(h, outputs, code_activation, name), name=name)


def conv_decoder(
    latent_dim: int,
    output_shape: tuple[int, int, int],
    filters: tuple[int, ...] = (32, 64),
    kernel_size: int = 3,
    activation: str | None = "relu",
    output_activation: str | None = None,
    condition_dim: int | None = None,
    name: str = "decoder",
    data_format: str | None = None,
) -> keras.Model:
    """Mirror of `conv_encoder`: Dense -> Reshape -> Conv2DTranspose blocks -> crop -> Conv2D.
    The output is channels last whatever `data_format` the stack runs in."""
    height, width, channels = output_shape
    h0, w0 = _downsampled(height, len(filters)), _downsampled(width, len(filters))
    inputs, z, condition = _inputs((latent_dim,), "z", condition_dim, name)
    h = layers.Dense(h0 * w0 * filters[-1], activation=activation, name=f"{name}_project")(
        _join(z, condition)
    )
    h = layers.Reshape((h0, w0, filters[-1]), name=f"{name}_reshape")(h)
    layout = _checked_format(data_format)
    h = _to_layout(h, layout, f"{name}_to_channels_first")
    for i, f in enumerate(reversed(filters)):
        h = AdjointConv2DTranspose(f, kernel_size, strides=2, padding="same",
                                   activation=activation, data_format=layout,
                                   name=f"{name}_deconv_{i}")(h)
    extra_h, extra_w = h0 * 2 ** len(filters) - height, w0 * 2 ** len(filters) - width
    if extra_h or extra_w:
        crop = ((extra_h // 2, extra_h - extra_h // 2), (extra_w // 2, extra_w - extra_w // 2))
        h = layers.Cropping2D(crop, data_format=layout, name=f"{name}_crop")(h)
    h = layers.Conv2D(channels, kernel_size, padding="same", activation=output_activation,
                      data_format=layout, name=f"{name}_output", dtype=OUTPUT_DTYPE)(h)
    h = _from_layout(h, layout, f"{name}_to_channels_last", dtype=OUTPUT_DTYPE)
    return keras.Model(inputs, h, name=name)


def conv_layout() -> str:
    """The data format the conv stacks run in: channels first on torch, channels last elsewhere.

    Inputs, outputs and weights are channels last on every backend (the same presets load
    everywhere), but Keras' torch backend runs each channels-last convolution by permuting its
    input to channels first and back, copies on every layer and step; there the stack is
    permuted once on the way in and once on the way out (benchmarks/RESULTS.md, section 6).
    TensorFlow's CPU kernels and XLA want channels last. Inside `conv_data_format(...)` it is
    the format chosen there."""
    chosen = _chosen_format.get()
    if chosen is not None:
        return chosen
    return "channels_first" if keras.backend.backend() == "torch" else "channels_last"


@contextmanager
def conv_data_format(data_format: str) -> Iterator[None]:
    """Builds the conv stacks of every model made inside the block in `data_format`, e.g. to
    compare a torch model run channels last with the default (benchmarks/speed.py). The choice
    is a context variable: it holds in this thread (and asyncio task) only, not in threads
    started inside the block."""
    token = _chosen_format.set(_checked_format(data_format))
    try:
        yield
    finally:
        _chosen_format.reset(token)


def _checked_format(data_format: str | None) -> str:
    if data_format is None:
        return conv_layout()
    if data_format not in DATA_FORMATS:
        raise ValueError(f"data_format must be one of {DATA_FORMATS}; got {data_format!r}.")
    return data_format


def _to_layout(h, layout: str, name: str):
    return layers.Permute((3, 1, 2), name=name)(h) if layout == "channels_first" else h


def _from_layout(h, layout: str, name: str, dtype: str | None = None):
    if layout == "channels_last":
        return h
    return layers.Permute((2, 3, 1), name=name, dtype=dtype)(h)


def lstm_encoder(
    input_shape: tuple[int, int],
    outputs: int | tuple[int, ...],
    units: tuple[int, ...] = (64,),
    code_activation: str | None = None,
    condition_dim: int | None = None,
    name: str = "encoder",
) -> keras.Model:
    """Stacked LSTMs over a fixed-length (timesteps, features) sequence -> Dense head(s)."""
    inputs, h, condition = _inputs(input_shape, "x", condition_dim, name)
    for i, u in enumerate(units):
        h = layers.LSTM(u, return_sequences=i < len(units) - 1, name=f"{name}_lstm_{i}")(h)
    h = _join(h, condition)
    return keras.Model(inputs, _heads(h, outputs, code_activation, name), name=name)


def lstm_decoder(
    latent_dim: int,
    output_shape: tuple[int, int],
    units: tuple[int, ...] = (64,),
    output_activation: str | None = None,
    condition_dim: int | None = None,
    name: str = "decoder",
) -> keras.Model:
    """Repeat the code at every step -> stacked LSTMs -> a Dense read-out per time step."""
    timesteps, features = output_shape
    inputs, z, condition = _inputs((latent_dim,), "z", condition_dim, name)
    h = layers.RepeatVector(timesteps, name=f"{name}_repeat")(_join(z, condition))
    for i, u in enumerate(reversed(units)):
        h = layers.LSTM(u, return_sequences=True, name=f"{name}_lstm_{i}")(h)
    h = layers.Dense(features, activation=output_activation, name=f"{name}_output",
                     dtype=OUTPUT_DTYPE)(h)
    return keras.Model(inputs, h, name=name)


def _inputs(shape: tuple[int, ...], name: str, condition_dim: int | None, prefix: str):
    """(model inputs, data input, condition input or None)."""
    data = keras.Input(shape, name=name)
    if condition_dim is None:
        return data, data, None
    condition = keras.Input((condition_dim,), name=f"{prefix}_condition")
    return [data, condition], data, condition


def _join(h, condition):
    if condition is None:
        return h
    prefix = condition.name.rsplit("_condition", 1)[0]
    return layers.Concatenate(name=f"{prefix}_join_condition")([h, condition])


def _heads(h, outputs: int | tuple[int, ...], activation: str | None, prefix: str):
    if isinstance(outputs, int):
        return layers.Dense(outputs, activation=activation, name=f"{prefix}_code",
                            dtype=OUTPUT_DTYPE)(h)
    names = ("mean", "log_var") if len(outputs) == 2 else [f"head_{i}" for i in range(len(outputs))]
    return [
        layers.Dense(n, name=f"{prefix}_{nm}", dtype=OUTPUT_DTYPE)(h)
        for n, nm in zip(outputs, names, strict=True)
    ]


def _downsampled(size: int, times: int) -> int:
    for _ in range(times):
        size = math.ceil(size / 2)
    return size
