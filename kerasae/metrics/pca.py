"""PCA agreement: how close an autoencoder comes to the best linear (rank-k affine) code.

A linear autoencoder trained on squared error reaches the PCA optimum and its decoder spans
the top-k principal subspace (Baldi & Hornik 1989), though not with the principal axes
themselves. These measures check both claims, and give nonlinear models a linear baseline.
Examples of any shape are flattened to vectors.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.linalg import subspace_angles

from kerasae._checks import check_int, numbers, rows, to_numpy
from kerasae.protocols import Reconstructs, Shaped

_CHUNK = 4096  # rows per block when projecting, to bound memory for wide data


class PrincipalComponents(NamedTuple):
    """The top-k principal subspace of a dataset."""

    mean: np.ndarray  # (D,) the data mean (PCA is affine: it codes x - mean)
    components: np.ndarray  # (D, k) orthonormal columns, by decreasing variance
    variances: np.ndarray  # (min(N, D),) every eigenvalue of the covariance, decreasing


def principal_components(x, k: int) -> PrincipalComponents:
    """Top-k principal axes of x (N examples, flattened to D features), fitted by eigen-
    decomposition of the covariance (1/N normalisation) when D <= N, else by an SVD of the
    centred data. Signs of the axes are arbitrary."""
    x = rows(x, "x", min_rows=2)
    n, d = x.shape
    k = check_int(k, "k")
    if k > min(n, d):
        raise ValueError(
            f"k must be at most min(N, D) = {min(n, d)} for x of shape {x.shape}; got {k}."
        )
    mean = x.mean(axis=0)
    centred = x - mean
    if d <= n:
        eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred / n)
        order = np.argsort(eigenvalues)[::-1]
        variances, axes = eigenvalues[order], eigenvectors[:, order]
    else:
        _, singular, vt = np.linalg.svd(centred, full_matrices=False)
        variances, axes = singular**2 / n, vt.T
    return PrincipalComponents(mean, axes[:, :k], np.clip(variances, 0.0, None))


def _projection_mse(x: np.ndarray, mean: np.ndarray, basis: np.ndarray) -> float:
    """Mean squared error of projecting x onto mean + span(basis) (orthonormal columns)."""
    total = 0.0
    for start in range(0, len(x), _CHUNK):
        centred = x[start : start + _CHUNK] - mean
        residual = centred - (centred @ basis) @ basis.T
        total += float(np.sum(residual**2))
    return total / x.size


def pca_reconstruction_error(x_train, x_eval, k: int) -> float:
    """MSE (mean over examples and elements) on x_eval of the best rank-k affine
    reconstruction fitted on x_train: x -> mean + V V^T (x - mean), V the top-k axes.

    This is the error a perfectly trained linear autoencoder with code size k reaches; on the
    training data it equals the sum of the discarded covariance eigenvalues divided by D.
    """
    x_train = rows(x_train, "x_train", min_rows=2)
    x_eval = rows(x_eval, "x_eval")
    if x_eval.shape[1] != x_train.shape[1]:
        raise ValueError(
            f"x_eval must have as many elements per example as x_train ({x_train.shape[1]}); "
            f"got {x_eval.shape[1]}."
        )
    fitted = principal_components(x_train, k)
    return _projection_mse(x_eval, fitted.mean, fitted.components)


def principal_angles(a, b) -> np.ndarray:
    """Principal angles, in degrees and increasing, between the column spaces of a (D, p) and
    b (D, q); min(p, q) of them.

    0 for every angle: one subspace contains the other; 90: orthogonal directions. They depend
    only on the subspaces, not on the bases chosen for them, which makes them the right way to
    compare a linear autoencoder's decoder with PCA (its weights are any basis of the
    subspace). Both matrices must have full column rank.
    """
    a = numbers(a, "a", ndim=2)
    b = numbers(b, "b", ndim=2)
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"a and b must have the same number of rows (the ambient dimension D); got shapes "
            f"{a.shape} and {b.shape}."
        )
    for name, matrix in (("a", a), ("b", b)):
        rank = np.linalg.matrix_rank(matrix)
        if rank < matrix.shape[1]:
            raise ValueError(
                f"{name} must have linearly independent columns (full column rank); its "
                f"{matrix.shape[1]} columns span only {rank} dimension(s)."
            )
    return np.sort(np.degrees(subspace_angles(a, b)))


def decoder_pca_angles(decoder_kernel, x_train, k: int | None = None) -> np.ndarray:
    """Principal angles (degrees, increasing) between the subspace a linear decoder writes
    into and the top-k PCA subspace of x_train.

    `decoder_kernel` maps codes to flattened data: a Keras Dense kernel of shape
    (latent, D) (e.g. `model.decoder.get_layer("decoder_output").kernel` of a `linear_ae`),
    or its transpose (D, latent); a square kernel is read in the Keras layout. k defaults to
    the code size. All angles near 0 mean the autoencoder found the PCA subspace.
    """
    kernel = numbers(to_numpy(decoder_kernel), "decoder_kernel", ndim=2)
    x_train = rows(x_train, "x_train", min_rows=2)
    d = x_train.shape[1]
    if kernel.shape[1] == d:
        kernel = kernel.T
    elif kernel.shape[0] != d:
        raise ValueError(
            f"decoder_kernel must have shape (latent, {d}) or ({d}, latent) to match x_train's "
            f"{d} elements per example; got {kernel.shape}."
        )
    k = kernel.shape[1] if k is None else k
    return principal_angles(kernel, principal_components(x_train, k).components)


def pca_agreement(x_train, x_eval, reconstruction, k: int | None = None) -> dict:
    """Compare a model's reconstruction error on x_eval with PCA's at the same code size.

    `reconstruction` is either the model's reconstruction of x_eval (same shape as x_eval)
    or a model with `reconstruct(x)` (then k defaults to its `latent_dim`). Returns
    {"model_mse", "pca_mse", "relative_gap", "k"}, MSEs averaged over examples and elements,
    relative_gap = model_mse / pca_mse - 1: about 0 for a converged linear autoencoder,
    negative when a nonlinear model beats the linear optimum.
    """
    if isinstance(reconstruction, Reconstructs):
        model = reconstruction
        if k is None and isinstance(model, Shaped):
            k = model.latent_dim
        reconstruction = model.reconstruct(x_eval)
    if k is None:
        raise ValueError("k (the code size to compare at) is required with a reconstruction array.")
    eval_rows = rows(x_eval, "x_eval")
    recon_rows = rows(reconstruction, "reconstruction")
    if recon_rows.shape != eval_rows.shape:
        raise ValueError(
            f"reconstruction must have x_eval's shape {np.shape(x_eval)}; "
            f"got {np.shape(reconstruction)}."
        )
    model_mse = float(np.mean((eval_rows - recon_rows) ** 2))
    pca_mse = pca_reconstruction_error(x_train, eval_rows, k)
    gap = model_mse / pca_mse - 1.0 if pca_mse > 0 else (0.0 if model_mse == 0 else np.inf)
    return {"model_mse": model_mse, "pca_mse": pca_mse, "relative_gap": float(gap), "k": int(k)}
