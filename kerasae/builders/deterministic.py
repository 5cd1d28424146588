"""The deterministic family: ae, linear_ae, deep_ae, conv_ae, lstm_ae, sparse_ae,
contractive_ae and denoising_ae. Each is the one `Autoencoder` with different parts."""

from __future__ import annotations

import keras

from kerasae._checks import check_choice, check_range
from kerasae.builders.common import check_undercomplete, make_networks
from kerasae.builders.common import output_activation as loss_output_activation
from kerasae.layers import corruption
from kerasae.models import Autoencoder
from kerasae.penalties import Contractive, KLSparsity, L1Sparsity, Penalty
from kerasae.variants import register_variant


def _autoencoder(input_shape, latent_dim, reconstruction_loss, penalties=(), noise=None,
                 weight_decay=0.0, out_activation=None, **network_options) -> Autoencoder:
    check_choice(reconstruction_loss, ("mse", "bce"), "reconstruction_loss")
    encoder, decoder = make_networks(
        input_shape, latent_dim,
        out_activation=out_activation or loss_output_activation(reconstruction_loss),
        **network_options,
    )
    if weight_decay:
        encoder, decoder = (_with_weight_decay(net, weight_decay) for net in (encoder, decoder))
    return Autoencoder(encoder, decoder, corruption=noise, penalties=penalties,
                       reconstruction_loss=reconstruction_loss)


@register_variant("ae")
def undercomplete_autoencoder(input_shape, latent_dim, hidden_units=(256,), activation="relu",
                              architecture=None, filters=(32, 64), reconstruction_loss="mse"):
    """Undercomplete autoencoder: the code is smaller than the input, so it must compress."""
    check_undercomplete(input_shape, latent_dim, "ae")
    return _autoencoder(input_shape, latent_dim, reconstruction_loss, architecture=architecture,
                        hidden_units=hidden_units, filters=filters, activation=activation)


@register_variant("linear_ae")
def linear_autoencoder(input_shape, latent_dim):
    """No nonlinearity anywhere and squared error: its optimum spans the PCA subspace."""
    check_undercomplete(input_shape, latent_dim, "linear_ae")
    return _autoencoder(input_shape, latent_dim, "mse", architecture="dense", hidden_units=(),
                        activation=None)


@register_variant("deep_ae")
def deep_autoencoder(input_shape, latent_dim, hidden_units=(512, 256, 128), activation="relu",
                     reconstruction_loss="mse"):
    """Deep, symmetric dense autoencoder."""
    check_undercomplete(input_shape, latent_dim, "deep_ae")
    return _autoencoder(input_shape, latent_dim, reconstruction_loss, architecture="dense",
                        hidden_units=hidden_units, activation=activation)


@register_variant("conv_ae")
def convolutional_autoencoder(input_shape, latent_dim, filters=(32, 64), kernel_size=3,
                              activation="relu", reconstruction_loss="mse"):
    """Strided convolutions down, transposed convolutions up; for (height, width, channels)."""
    check_undercomplete(input_shape, latent_dim, "conv_ae")
    return _autoencoder(input_shape, latent_dim, reconstruction_loss, architecture="conv",
                        filters=filters, kernel_size=kernel_size, activation=activation)


@register_variant("lstm_ae")
def recurrent_autoencoder(input_shape, latent_dim, units=(64,), reconstruction_loss="mse"):
    """LSTM sequence autoencoder for fixed-length (timesteps, features) series."""
    check_undercomplete(input_shape, latent_dim, "lstm_ae")
    return _autoencoder(input_shape, latent_dim, reconstruction_loss, architecture="lstm",
                        units=units)


@register_variant("sparse_ae")
def sparse_autoencoder(input_shape, latent_dim, sparsity="kl", rho=None, beta=None, lam=None,
                       hidden_units=(), activation="relu", architecture=None, filters=(32, 64),
                       reconstruction_loss="mse", weight_decay=0.0, output_activation=None):
    """Sparse code, may be overcomplete. "kl": beta * sum_j KL(rho || rho_hat_j) on a sigmoid
    code (rho=0.05, beta=0.1 by default); "l1": lam * sum_j |h_j| on a ReLU code (lam=1e-4).
    weight_decay: adds (weight_decay / 2) * sum W^2 over every kernel (not the biases), the
    lambda of Ng's sparse autoencoder notes; it keeps weights of inputs that never vary at 0.
    The reconstruction loss here is a mean over pixels, not the notes' half sum: their
    (beta, lambda) correspond to (beta, weight_decay) * 2 / input size here.
    output_activation: None follows the loss (sigmoid for "bce", linear for "mse"); "sigmoid"
    with "mse" is the notes' sigmoid decoder, for data scaled into (0, 1)."""
    check_choice(sparsity, ("kl", "l1"), "sparsity")
    if output_activation is not None:
        check_choice(output_activation, ("sigmoid", "linear"), "output_activation")
    weight_decay = check_range(weight_decay, 0.0, float("inf"), "weight_decay")
    if sparsity == "kl":
        _reject_options(sparsity, ["rho", "beta"], lam=lam)
        penalty: Penalty = KLSparsity(rho=0.05 if rho is None else rho,
                                      beta=0.1 if beta is None else beta)
        code_activation = "sigmoid"
    else:
        _reject_options(sparsity, ["lam"], rho=rho, beta=beta)
        penalty = L1Sparsity(lam=1e-4 if lam is None else lam)
        code_activation = "relu"
    return _autoencoder(input_shape, latent_dim, reconstruction_loss, penalties=[penalty],
                        weight_decay=weight_decay, out_activation=output_activation,
                        architecture=architecture, hidden_units=hidden_units, filters=filters,
                        activation=activation, code_activation=code_activation)


@register_variant("contractive_ae")
def contractive_autoencoder(input_shape, latent_dim, contractive_weight=1e-2, hidden_units=(),
                            activation="relu", architecture=None, filters=(32, 64),
                            reconstruction_loss="mse"):
    """Penalises the squared Frobenius norm of the encoder's Jacobian: a code that barely moves
    when the input moves off the data. Sigmoid code, as in Rifai et al. (2011)."""
    return _autoencoder(input_shape, latent_dim, reconstruction_loss,
                        penalties=[Contractive(contractive_weight)], architecture=architecture,
                        hidden_units=hidden_units, filters=filters, activation=activation,
                        code_activation="sigmoid")


@register_variant("denoising_ae")
def denoising_autoencoder(input_shape, latent_dim, noise="gaussian", noise_level=0.2, seed=None,
                          hidden_units=(256,), activation="relu", architecture=None,
                          filters=(32, 64), reconstruction_loss="mse"):
    """Corrupts the input while training and reconstructs the clean input; inference is clean.
    noise_level: the standard deviation ("gaussian") or the corrupted fraction (the others).
    With reconstruction_loss="bce" (data in [0, 1]) Gaussian-noised inputs are clipped to
    [0, 1], as noisy images are."""
    clip = (0.0, 1.0) if reconstruction_loss == "bce" else None
    return _autoencoder(input_shape, latent_dim, reconstruction_loss,
                        noise=corruption(noise, noise_level, seed, clip),
                        architecture=architecture,
                        hidden_units=hidden_units, filters=filters, activation=activation)


def _with_weight_decay(network: keras.Model, weight_decay: float) -> keras.Model:
    """A copy of `network` whose kernels carry an L2 regulariser (weight_decay / 2) * sum W^2.

    Keras' own `kernel_regularizer`: it is saved with each layer's config, and the model's
    `compute_loss` adds `self.losses`, so every backend trains with it."""
    regularizer = keras.regularizers.L2(weight_decay / 2)

    def clone(layer):
        config = layer.get_config()
        if "kernel_regularizer" in config:
            config["kernel_regularizer"] = regularizer
        return layer.__class__.from_config(config)

    return keras.models.clone_model(network, clone_function=clone)


def _reject_options(sparsity: str, applicable: list[str], **given) -> None:
    wrong = sorted(k for k, v in given.items() if v is not None)
    if wrong:
        raise ValueError(f"option(s) {wrong} do not apply to sparsity={sparsity!r}; it takes "
                         f"{applicable}.")
