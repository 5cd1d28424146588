"""Measures of model quality computed from a model's public methods or from arrays.

Metrics know nothing of datasets: they take arrays (codes, scores, labels, reconstructions),
a model's public methods, or, for the beta-VAE and FactorVAE scores, any object that implements
`GroundTruthDataset`.
"""

from kerasae.metrics.anomaly import auroc, precision_recall_at
from kerasae.metrics.disentanglement import (
    GroundTruthDataset,
    beta_vae_score,
    dci_disentanglement,
    factor_vae_score,
    mutual_information_gap,
    mutual_information_matrix,
)
from kerasae.metrics.gabor import gabor, gabor_fit
from kerasae.metrics.likelihood import active_units, importance_weighted_bound, kl_per_dimension
from kerasae.metrics.pca import (
    PrincipalComponents,
    decoder_pca_angles,
    pca_agreement,
    pca_reconstruction_error,
    principal_angles,
    principal_components,
)
from kerasae.metrics.probe import SoftmaxRegression, linear_probe_accuracy
from kerasae.metrics.reconstruction import psnr

__all__ = [
    "GroundTruthDataset",
    "PrincipalComponents",
    "SoftmaxRegression",
    "active_units",
    "auroc",
    "beta_vae_score",
    "dci_disentanglement",
    "decoder_pca_angles",
    "factor_vae_score",
    "gabor",
    "gabor_fit",
    "importance_weighted_bound",
    "kl_per_dimension",
    "linear_probe_accuracy",
    "mutual_information_gap",
    "mutual_information_matrix",
    "pca_agreement",
    "pca_reconstruction_error",
    "precision_recall_at",
    "principal_angles",
    "principal_components",
    "psnr",
]
