"""The network specs (dense, conv, lstm): typed, validated configs of an encoder/decoder pair,
each carrying only its own architecture's fields, shared by every variant's builder."""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import keras

from kerasae import networks
from kerasae._checks import check_choice, check_int, check_units


def model_defaults(model_class: type) -> dict[str, Any]:
    """The defaults of a model class's constructor keywords. The typed specs take theirs from
    here, so each default is declared once, in the model's signature (the model is what
    from_config and hand-built models go through); tests/test_defaults.py checks no spec
    declares one of its own."""
    init = getattr(model_class, "__init__")  # noqa: B009 (mypy refuses cls.__init__)
    parameters = inspect.signature(init).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def settle(spec: Any, **checked: Any) -> None:
    """Store checked (normalised) option values on a frozen spec, from its __post_init__:
    a frozen dataclass refuses plain assignment even there."""
    for name, value in checked.items():
        object.__setattr__(spec, name, value)


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


def _check_activation(activation: Any) -> str | None:
    if activation is None:
        return None
    try:
        if not isinstance(activation, str):
            raise ValueError
        keras.activations.get(activation)
    except ValueError:
        raise ValueError(f"activation must be None or the name of a Keras activation such as "
                         f"'relu'; got {activation!r}.") from None
    return activation


@dataclass(frozen=True)
class NetworkSpec:
    """An encoder/decoder mirror pair; subclasses add their architecture's fields."""

    architecture: ClassVar[str]
    # The rank one example must have (None: any), what its axes are and how to get there; the
    # three make check_input's message.
    required_rank: ClassVar[int | None] = None
    input_kind: ClassVar[str] = ""
    input_hint: ClassVar[str] = ""

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def check_input(self, input_shape: tuple[int, ...]) -> None:
        """Raise ValueError if this architecture cannot take examples of `input_shape`."""
        if self.required_rank is not None and len(input_shape) != self.required_rank:
            raise ValueError(f"{self.input_user()} needs {self.input_kind}; got {input_shape}. "
                             f"{self.input_hint}")

    def input_user(self) -> str:
        """Who needs the input rank, in check_input's message."""
        return f"architecture={self.architecture!r}"

    def build(self, input_shape: tuple[int, ...], latent_dim: int | tuple[int, ...], *,
              decoder_latent_dim: int | None = None, code_activation: str | None = None,
              out_activation: str | None = None, condition_dim: int | None = None,
              ) -> tuple[keras.Model, keras.Model]:
        """(encoder, decoder). `latent_dim` may be a tuple of head sizes (a VAE's mean and
        log-variance); the decoder then takes `decoder_latent_dim` inputs. `condition_dim`
        adds a one-hot condition input to both."""
        self.check_input(input_shape)
        enc = {"code_activation": code_activation, "condition_dim": condition_dim}
        dec = {"output_activation": out_activation, "condition_dim": condition_dim}
        return self._pair(input_shape, latent_dim, decoder_latent_dim or latent_dim, enc, dec)

    def _pair(self, input_shape, latent_dim, z_dim, enc, dec):
        raise NotImplementedError


@dataclass(frozen=True)
class DenseNetwork(NetworkSpec):
    """Dense layers of `hidden_units` (mirrored in the decoder); () is a single linear map."""

    architecture: ClassVar[str] = "dense"
    hidden_units: tuple[int, ...] = (256,)
    activation: str | None = "relu"

    def __post_init__(self):
        settle(self, hidden_units=check_units(self.hidden_units, "hidden_units"))
        _check_activation(self.activation)

    def _pair(self, input_shape, latent_dim, z_dim, enc, dec):
        return (
            networks.dense_encoder(input_shape, latent_dim, self.hidden_units, self.activation,
                                   **enc),
            networks.dense_decoder(z_dim, input_shape, self.hidden_units, self.activation, **dec),
        )


@dataclass(frozen=True)
class ConvNetwork(NetworkSpec):
    """Stride-2 convolutions of `filters` down, transposed convolutions up."""

    architecture: ClassVar[str] = "conv"
    required_rank: ClassVar[int | None] = 3
    input_kind: ClassVar[str] = "image input_shape (height, width, channels)"
    input_hint: ClassVar[str] = "Add a channel axis, e.g. (28, 28, 1)."
    filters: tuple[int, ...] = (32, 64)
    kernel_size: int = 3
    activation: str | None = "relu"

    def __post_init__(self):
        filters = check_units(self.filters, "filters")
        if not filters:
            raise ValueError("filters must name at least one convolution, e.g. (32, 64).")
        settle(self, filters=filters, kernel_size=check_int(self.kernel_size, "kernel_size"))
        _check_activation(self.activation)

    def _pair(self, input_shape, latent_dim, z_dim, enc, dec):
        args = (self.filters, self.kernel_size, self.activation)
        return (networks.conv_encoder(input_shape, latent_dim, *args, **enc),
                networks.conv_decoder(z_dim, input_shape, *args, **dec))


@dataclass(frozen=True)
class LstmNetwork(NetworkSpec):
    """Stacked LSTMs of `units` over fixed-length (timesteps, features) sequences."""

    architecture: ClassVar[str] = "lstm"
    required_rank: ClassVar[int | None] = 2
    input_kind: ClassVar[str] = "sequence input_shape (timesteps, features)"
    input_hint: ClassVar[str] = "For a univariate series use (timesteps, 1)."
    units: tuple[int, ...] = (64,)

    def __post_init__(self):
        units = check_units(self.units, "units")
        if not units:
            raise ValueError("units must name at least one LSTM layer, e.g. (64,).")
        settle(self, units=units)

    def _pair(self, input_shape, latent_dim, z_dim, enc, dec):
        return (networks.lstm_encoder(input_shape, latent_dim, self.units, **enc),
                networks.lstm_decoder(z_dim, input_shape, self.units, **dec))


NETWORKS: dict[str, type[NetworkSpec]] = {
    spec.architecture: spec for spec in (DenseNetwork, ConvNetwork, LstmNetwork)
}
ARCHITECTURES = tuple(NETWORKS)
# Every network field, with the defaults a variant starts from (it may override them).
NETWORK_DEFAULTS: dict[str, Any] = {
    "architecture": None, "hidden_units": (256,), "activation": "relu", "filters": (32, 64),
    "kernel_size": 3, "units": (64,),
}


def network_spec(options: dict[str, Any], given: set[str],
                 input_shape: tuple[int, ...]) -> NetworkSpec:
    """The network spec of `options` (network fields and others mixed); its architecture is
    options["architecture"] or follows the input rank. A field in `given` (set by the caller,
    not a default) that the architecture does not have is refused, not ignored."""
    architecture = options.get("architecture") or default_architecture(input_shape)
    spec = NETWORKS[check_choice(architecture, ARCHITECTURES, "architecture")]
    wrong = sorted(k for k in given if k in NETWORK_DEFAULTS and k != "architecture"
                   and k not in spec.fields())
    if wrong:
        raise ValueError(
            f"option(s) {wrong} do not apply to architecture={architecture!r}; it takes "
            f"{list(spec.fields())}."
        )
    return spec(**{k: options[k] for k in spec.fields() if k in options})
