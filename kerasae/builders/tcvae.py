"""beta_tcvae: the total-correlation VAE (Chen et al. 2018)."""

from __future__ import annotations

from kerasae._checks import check_positive_int, check_range
from kerasae.builders.common import make_networks
from kerasae.models.tcvae import TotalCorrelationVAE
from kerasae.variants import register_variant


@register_variant("beta_tcvae")
def beta_tc_variational_autoencoder(input_shape, latent_dim, beta=6.0, alpha=1.0, gamma=1.0,
                                    dataset_size=None, likelihood="bernoulli",
                                    observation_std=0.1, hidden_units=(512, 256),
                                    activation="relu", architecture=None, filters=(32, 64),
                                    seed=None):
    """beta-TC-VAE (Chen et al. 2018): reconstruction + alpha * index-code MI + beta * total
    correlation + gamma * dimension-wise KL, with q(z) estimated by minibatch-weighted
    sampling. dataset_size (N, the training set size) sets the MWS weight 1 / (N * batch);
    it shifts the logged mi/tc/dim_kl terms by constants and leaves the gradients unchanged,
    so None (the batch stands for the dataset) trains identically."""
    for value, name in ((alpha, "alpha (MI weight)"), (beta, "beta (TC weight)"),
                        (gamma, "gamma (dimension-wise KL weight)")):
        check_range(value, 0.0, float("inf"), name)
    check_range(observation_std, 0.0, float("inf"), "observation_std", inclusive=False)
    if dataset_size is not None:
        dataset_size = check_positive_int(dataset_size, "dataset_size")
    encoder, decoder = make_networks(
        input_shape, (latent_dim, latent_dim), decoder_latent_dim=latent_dim,
        architecture=architecture, hidden_units=hidden_units, filters=filters,
        activation=activation,
    )
    return TotalCorrelationVAE(encoder, decoder, alpha=alpha, beta=beta, gamma=gamma,
                               dataset_size=dataset_size, likelihood=likelihood,
                               observation_std=observation_std, seed=seed)
