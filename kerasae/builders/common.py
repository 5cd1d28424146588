"""Choosing and checking the encoder/decoder networks, shared by every variant's builder."""

from __future__ import annotations

import math
from typing import Any, cast

import keras

from kerasae import networks
from kerasae._checks import check_choice, check_units

ARCHITECTURES = ("dense", "conv", "lstm")


def default_architecture(input_shape: tuple[int, ...]) -> str:
    """Images (height, width, channels) get convolutions; everything else dense layers."""
    return "conv" if len(input_shape) == 3 else "dense"


def output_activation(reconstruction_loss: str) -> str | None:
    """Cross-entropy needs outputs in (0, 1); squared error takes any real value."""
    return "sigmoid" if reconstruction_loss == "bce" else None


def check_undercomplete(input_shape: tuple[int, ...], latent_dim: int, variant: str) -> None:
    size = math.prod(input_shape)
    if latent_dim >= size:
        raise ValueError(
            f"{variant} is undercomplete: latent_dim must be smaller than the input size "
            f"{size} (input_shape={input_shape}); got latent_dim={latent_dim}."
        )


def make_networks(
    input_shape: tuple[int, ...],
    latent_dim: int | tuple[int, ...],
    *,
    architecture: str | None = None,
    hidden_units=(256,),
    filters=(32, 64),
    units=(64,),
    kernel_size: int = 3,
    activation: str | None = "relu",
    code_activation: str | None = None,
    out_activation: str | None = None,
    decoder_latent_dim: int | None = None,
    condition_dim: int | None = None,
) -> tuple[keras.Model, keras.Model]:
    """An (encoder, decoder) mirror pair for `architecture` (default: from the input rank).

    `latent_dim` may be a tuple of head sizes (a VAE's mean and log-variance); the decoder then
    takes `decoder_latent_dim` inputs. `condition_dim` adds a one-hot condition input to both.
    """
    architecture = architecture or default_architecture(input_shape)
    check_choice(architecture, ARCHITECTURES, "architecture")
    # a tuple latent_dim (a VAE's heads) comes with the decoder's decoder_latent_dim
    z_dim = cast(int, decoder_latent_dim or latent_dim)
    enc: dict[str, Any] = {"code_activation": code_activation, "condition_dim": condition_dim}
    dec: dict[str, Any] = {"output_activation": out_activation, "condition_dim": condition_dim}
    if architecture == "dense":
        hidden = check_units(hidden_units, "hidden_units")
        return (
            networks.dense_encoder(input_shape, latent_dim, hidden, activation, **enc),
            networks.dense_decoder(z_dim, input_shape, hidden, activation, **dec),
        )
    if architecture == "conv":
        if len(input_shape) != 3:
            raise ValueError(
                "architecture='conv' needs image input_shape (height, width, channels); "
                f"got {input_shape}. Add a channel axis, e.g. (28, 28, 1)."
            )
        conv = check_units(filters, "filters")
        if not conv:
            raise ValueError("filters must name at least one convolution, e.g. (32, 64).")
        return (
            networks.conv_encoder(input_shape, latent_dim, conv, kernel_size, activation, **enc),
            networks.conv_decoder(z_dim, input_shape, conv, kernel_size, activation, **dec),
        )
    if len(input_shape) != 2:
        raise ValueError(
            "architecture='lstm' needs sequence input_shape (timesteps, features); "
            f"got {input_shape}. For a univariate series use (timesteps, 1)."
        )
    lstm = check_units(units, "units")
    if not lstm:
        raise ValueError("units must name at least one LSTM layer, e.g. (64,).")
    return (
        networks.lstm_encoder(input_shape, latent_dim, lstm, **enc),
        networks.lstm_decoder(z_dim, input_shape, lstm, **dec),
    )
