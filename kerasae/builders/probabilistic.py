"""The VAE family: vae, beta_vae and cvae, all one `VariationalAutoencoder`."""

from __future__ import annotations

from kerasae._checks import check_positive_int, check_range
from kerasae.builders.common import make_networks
from kerasae.models.vae import VariationalAutoencoder
from kerasae.variants import register_variant


def _vae(input_shape, latent_dim, *, architecture, hidden_units, filters, activation,
         num_classes=None, **objective) -> VariationalAutoencoder:
    check_range(objective["beta"], 0.0, float("inf"), "beta")
    check_range(objective["free_bits"], 0.0, float("inf"), "free_bits (nats per dimension)")
    check_range(objective["observation_std"], 0.0, float("inf"), "observation_std",
                inclusive=False)
    if objective["kl_warmup_steps"] < 0:
        raise ValueError(f"kl_warmup_steps must be >= 0; got {objective['kl_warmup_steps']!r}.")
    encoder, decoder = make_networks(
        input_shape, (latent_dim, latent_dim), decoder_latent_dim=latent_dim,
        architecture=architecture, hidden_units=hidden_units, filters=filters,
        activation=activation, condition_dim=num_classes,
    )
    return VariationalAutoencoder(encoder, decoder, num_classes=num_classes, **objective)


@register_variant("vae")
def variational_autoencoder(input_shape, latent_dim, likelihood="bernoulli", observation_std=0.1,
                            kl_warmup_steps=0, free_bits=0.0, hidden_units=(512, 256),
                            activation="relu", architecture=None, filters=(32, 64), seed=None):
    """VAE trained on the negative ELBO. likelihood="bernoulli" (data in [0, 1], decoder logits)
    or "gaussian" (fixed observation_std). kl_warmup_steps anneals the KL weight from 0 to 1;
    free_bits is a per-dimension KL floor in nats; both fight posterior collapse."""
    return _vae(input_shape, latent_dim, architecture=architecture, hidden_units=hidden_units,
                filters=filters, activation=activation, likelihood=likelihood,
                observation_std=observation_std, beta=1.0, kl_warmup_steps=kl_warmup_steps,
                free_bits=free_bits, seed=seed)


@register_variant("beta_vae")
def beta_variational_autoencoder(input_shape, latent_dim, beta=4.0, capacity_max=None,
                                 capacity_steps=10000, likelihood="bernoulli",
                                 observation_std=0.1, kl_warmup_steps=0, free_bits=0.0,
                                 hidden_units=(512, 256), activation="relu", architecture=None,
                                 filters=(32, 64), seed=None):
    """beta-VAE (Higgins et al. 2017): reconstruction + beta * KL. With capacity_max, the
    capacity-annealed form (Burgess et al. 2018): reconstruction + beta * |KL - C|, where C
    grows linearly from 0 to capacity_max nats over capacity_steps training steps."""
    if capacity_max is not None:
        check_range(capacity_max, 0.0, float("inf"), "capacity_max (nats)")
        check_positive_int(capacity_steps, "capacity_steps")
    return _vae(input_shape, latent_dim, architecture=architecture, hidden_units=hidden_units,
                filters=filters, activation=activation, likelihood=likelihood,
                observation_std=observation_std, beta=beta, kl_warmup_steps=kl_warmup_steps,
                free_bits=free_bits, capacity_max=capacity_max, capacity_steps=capacity_steps,
                seed=seed)


@register_variant("cvae")
def conditional_variational_autoencoder(input_shape, latent_dim, num_classes=None,
                                        likelihood="bernoulli", observation_std=0.1,
                                        kl_warmup_steps=0, free_bits=0.0,
                                        hidden_units=(512, 256), activation="relu",
                                        architecture=None, filters=(32, 64), seed=None):
    """Conditional VAE (Sohn et al. 2015): encoder and decoder both see a one-hot class label.
    Trains with fit([x, labels]); encode/decode/reconstruct/sample take condition=labels."""
    if num_classes is None:
        raise ValueError("cvae needs num_classes, the number of condition labels, e.g. 10.")
    num_classes = check_positive_int(num_classes, "num_classes")
    return _vae(input_shape, latent_dim, architecture=architecture, hidden_units=hidden_units,
                filters=filters, activation=activation, num_classes=num_classes,
                likelihood=likelihood, observation_std=observation_std, beta=1.0,
                kl_warmup_steps=kl_warmup_steps, free_bits=free_bits, seed=seed)
