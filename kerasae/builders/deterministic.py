"""The deterministic family: ae, linear_ae, deep_ae, conv_ae, lstm_ae, sparse_ae,
contractive_ae and denoising_ae. Each is the one `Autoencoder` with different parts: registered
defaults over `autoencoder()`, the family builder."""

from __future__ import annotations

from dataclasses import dataclass

import keras

from kerasae._checks import check_choice, check_range
from kerasae.builders.common import (
    NETWORK_DEFAULTS,
    NetworkSpec,
    check_undercomplete,
    model_defaults,
    settle,
)
from kerasae.builders.common import output_activation as loss_output_activation
from kerasae.layers import corruption
from kerasae.models import Autoencoder
from kerasae.penalties import Contractive, KLSparsity, L1Sparsity, Penalty
from kerasae.variants import Variant, builder, deprecated_alias, register

SPARSITY_DEFAULTS = {"kl": {"rho": 0.05, "beta": 0.1}, "l1": {"lam": 1e-4}}


@dataclass(frozen=True)
class AutoencoderObjective:
    """What the deterministic family trains on, checked where it is made. undercomplete: the
    variant's name when latent_dim must be below the input size. sparsity "kl": beta *
    sum_j KL(rho || rho_hat_j) on a sigmoid code; "l1": lam * sum_j |h_j| on a ReLU code.
    weight_decay: (weight_decay / 2) * sum W^2 over every kernel. contractive_weight: the
    squared Frobenius norm of the encoder's Jacobian (sigmoid code, Rifai et al. 2011). noise /
    noise_level / seed: the input corruption while training (clipped to [0, 1] for "bce")."""

    reconstruction_loss: str = model_defaults(Autoencoder)["reconstruction_loss"]
    undercomplete: str | None = None
    sparsity: str | None = None
    rho: float | None = None
    beta: float | None = None
    lam: float | None = None
    weight_decay: float = 0.0
    output_activation: str | None = None
    contractive_weight: float | None = None
    noise: str | None = None
    noise_level: float = 0.2
    seed: int | None = None

    def __post_init__(self):
        check_choice(self.reconstruction_loss, ("mse", "bce"), "reconstruction_loss")
        if self.output_activation is not None:
            check_choice(self.output_activation, ("sigmoid", "linear"), "output_activation")
        settle(self, weight_decay=check_range(self.weight_decay, 0.0, float("inf"),
                                              "weight_decay"))
        if self.sparsity is not None:
            check_choice(self.sparsity, tuple(SPARSITY_DEFAULTS), "sparsity")
            given = {"rho": self.rho, "beta": self.beta, "lam": self.lam}
            _reject_options(self.sparsity, list(SPARSITY_DEFAULTS[self.sparsity]), given)
        self.penalties()  # checks their weights
        self.corruption()  # checks the noise

    def penalties(self) -> list[Penalty]:
        penalties: list[Penalty] = []
        if self.sparsity is not None:
            given = {"rho": self.rho, "beta": self.beta, "lam": self.lam}
            params: dict[str, float] = {}
            for key, default in SPARSITY_DEFAULTS[self.sparsity].items():
                value = given[key]
                params[key] = default if value is None else value
            penalties.append(KLSparsity(**params) if self.sparsity == "kl"
                             else L1Sparsity(**params))
        if self.contractive_weight is not None:
            penalties.append(Contractive(self.contractive_weight))
        return penalties

    def corruption(self) -> keras.layers.Layer | None:
        if self.noise is None:
            return None
        clip = (0.0, 1.0) if self.reconstruction_loss == "bce" else None
        return corruption(self.noise, self.noise_level, self.seed, clip)

    @property
    def code_activation(self) -> str | None:
        if self.contractive_weight is not None or self.sparsity == "kl":
            return "sigmoid"
        return "relu" if self.sparsity == "l1" else None


def autoencoder(input_shape: tuple[int, ...], latent_dim: int, *, network: NetworkSpec,
                **objective) -> Autoencoder:
    """The family builder: `network`'s encoder/decoder pair trained on an
    `AutoencoderObjective` made from `objective`."""
    spec = AutoencoderObjective(**objective)
    if spec.undercomplete:
        check_undercomplete(input_shape, latent_dim, spec.undercomplete)
    encoder, decoder = network.build(
        input_shape, latent_dim, code_activation=spec.code_activation,
        out_activation=spec.output_activation or loss_output_activation(spec.reconstruction_loss),
    )
    if spec.weight_decay:
        encoder, decoder = (_with_weight_decay(net, spec.weight_decay)
                            for net in (encoder, decoder))
    return Autoencoder(encoder, decoder, corruption=spec.corruption(),
                       penalties=spec.penalties(), reconstruction_loss=spec.reconstruction_loss)


def _settle_sparsity(objective: dict) -> dict:
    """Store the sparsity weights that apply, with their defaults resolved."""
    sparsity = objective["sparsity"]
    defaults = SPARSITY_DEFAULTS.get(sparsity, {})
    settled = {k: v for k, v in objective.items() if k not in ("rho", "beta", "lam")}
    settled.update({k: objective[k] if objective[k] is not None else v
                    for k, v in defaults.items()})
    return settled


_NET = dict(NETWORK_DEFAULTS)
_LOSS = {"reconstruction_loss": "mse"}


def _register(name: str, options: dict, fixed: dict | None = None, settle=None) -> None:
    register(Variant(name, autoencoder, options, fixed or {}, settle=settle))


_register("ae", {**_NET, **_LOSS}, {"undercomplete": "ae"})
_register("linear_ae", {}, {"architecture": "dense", "hidden_units": (), "activation": None,
                            "undercomplete": "linear_ae"})
_register("deep_ae", {"hidden_units": (512, 256, 128), "activation": "relu", **_LOSS},
          {"architecture": "dense", "undercomplete": "deep_ae"})
_register("conv_ae", {"filters": (32, 64), "kernel_size": 3, "activation": "relu", **_LOSS},
          {"architecture": "conv", "undercomplete": "conv_ae"})
_register("lstm_ae", {"units": (64,), **_LOSS}, {"architecture": "lstm",
                                                 "undercomplete": "lstm_ae"})
_register("sparse_ae", {"sparsity": "kl", "rho": None, "beta": None, "lam": None,
                        **_NET, "hidden_units": (), **_LOSS, "weight_decay": 0.0,
                        "output_activation": None}, settle=_settle_sparsity)
_register("contractive_ae", {"contractive_weight": 1e-2, **_NET, "hidden_units": (), **_LOSS})
_register("denoising_ae", {"noise": "gaussian", "noise_level": 0.2, "seed": None, **_NET,
                           **_LOSS})

ae = builder("ae")
linear_ae = builder("linear_ae")
deep_ae = builder("deep_ae")
conv_ae = builder("conv_ae")
lstm_ae = builder("lstm_ae")
sparse_ae = builder("sparse_ae")
contractive_ae = builder("contractive_ae")
denoising_ae = builder("denoising_ae")
undercomplete_autoencoder = deprecated_alias("undercomplete_autoencoder", "ae")
linear_autoencoder = deprecated_alias("linear_autoencoder", "linear_ae")
deep_autoencoder = deprecated_alias("deep_autoencoder", "deep_ae")
convolutional_autoencoder = deprecated_alias("convolutional_autoencoder", "conv_ae")
recurrent_autoencoder = deprecated_alias("recurrent_autoencoder", "lstm_ae")
sparse_autoencoder = deprecated_alias("sparse_autoencoder", "sparse_ae")
contractive_autoencoder = deprecated_alias("contractive_autoencoder", "contractive_ae")
denoising_autoencoder = deprecated_alias("denoising_autoencoder", "denoising_ae")


def _with_weight_decay(network: keras.Model, weight_decay: float) -> keras.Model:
    """A copy of `network` whose kernels carry an L2 regulariser (weight_decay / 2) * sum W^2.

    Keras' own `kernel_regularizer`: the model's `compute_loss` adds `self.losses`, so every
    backend trains with it."""
    regularizer = keras.regularizers.L2(weight_decay / 2)

    def clone(layer):
        config = layer.get_config()
        if "kernel_regularizer" in config:
            config["kernel_regularizer"] = regularizer
        return layer.__class__.from_config(config)

    return keras.models.clone_model(network, clone_function=clone)


def _reject_options(sparsity: str, applicable: list[str], given: dict) -> None:
    wrong = sorted(k for k, v in given.items() if v is not None and k not in applicable)
    if wrong:
        raise ValueError(f"option(s) {wrong} do not apply to sparsity={sparsity!r}; it takes "
                         f"{applicable}.")
