"""Ex-post density estimation: a Gaussian mixture fitted on the training set's codes.

A VAE's aggregate posterior rarely matches its N(0, I) prior, so prior samples land where no
training code was and decode to blurry in-betweens; a deterministic autoencoder has no prior at
all. Fitting a mixture on the codes of the training data and sampling from it (Ghosh et al.
2020, "From variational to deterministic autoencoders") gives both a way to generate that
follows the data. The fit uses scikit-learn; sampling needs only numpy, and the fitted mixture
is stored as plain arrays (`sampler.npz`, read without pickle).
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from kerasae._checks import check_int

SAMPLER_FORMAT = 1
# the card metrics scripts/fit_samplers.py measures for a fitted sampler; a card update by
# another script keeps them
SAMPLER_METRIC_PREFIXES = ("frechet_pixels_", "confident_digit_fraction_")
_KEYS = ("format", "weights", "means", "covariances")


class GaussianMixtureSampler:
    """A fitted Gaussian mixture over codes: weights (K,), means (K, D), covariances (K, D, D).

    `sample(n, seed)` draws codes with numpy's Generator, so the same seed gives the same codes
    on every backend and without scikit-learn installed.
    """

    kind = "gmm"

    def __init__(self, weights, means, covariances, where: str = "the sampler"):
        weights, means, covariances = (np.asarray(a, dtype="float64")
                                       for a in (weights, means, covariances))
        if weights.ndim != 1 or not len(weights):
            raise ValueError(f"{where}: weights must have shape (K,) with K >= 1; got "
                             f"{weights.shape}.")
        k = len(weights)
        if means.ndim != 2 or means.shape[0] != k or means.shape[1] < 1:
            raise ValueError(f"{where}: means must have shape ({k}, latent_dim); got "
                             f"{means.shape}.")
        d = means.shape[1]
        if covariances.shape != (k, d, d):
            raise ValueError(f"{where}: covariances must have shape ({k}, {d}, {d}); got "
                             f"{covariances.shape}.")
        for name, array in (("weights", weights), ("means", means), ("covariances", covariances)):
            if not np.isfinite(array).all():
                raise ValueError(f"{where}: {name} hold NaN or infinity.")
        if (weights < 0).any() or abs(weights.sum() - 1.0) > 1e-6:
            raise ValueError(f"{where}: weights must be >= 0 and sum to 1; they sum to "
                             f"{weights.sum():.6g} (min {weights.min():.3g}).")
        if not np.allclose(covariances, np.swapaxes(covariances, 1, 2), rtol=1e-6, atol=1e-9):
            raise ValueError(f"{where}: covariances must be symmetric.")
        try:
            self._cholesky = np.linalg.cholesky(covariances)
        except np.linalg.LinAlgError:
            raise ValueError(f"{where}: covariances must be positive definite; at least one "
                             "is not.") from None
        self.weights = weights / weights.sum()
        self.means, self.covariances = means, covariances

    @property
    def latent_dim(self) -> int:
        return int(self.means.shape[1])

    @property
    def n_components(self) -> int:
        return len(self.weights)

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """n codes, shape (n, latent_dim), float32."""
        n = check_int(n, "n")
        rng = np.random.default_rng(seed)
        component = rng.choice(self.n_components, size=n, p=self.weights)
        noise = rng.standard_normal((n, self.latent_dim))
        codes = self.means[component] + np.einsum("nij,nj->ni", self._cholesky[component], noise)
        return codes.astype("float32")

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"format": np.asarray(SAMPLER_FORMAT), "weights": self.weights,
                "means": self.means, "covariances": self.covariances}

    @classmethod
    def from_arrays(cls, arrays, where: str = "the sampler") -> GaussianMixtureSampler:
        missing = [key for key in _KEYS if key not in arrays]
        if missing:
            raise ValueError(f"{where} must hold arrays {list(_KEYS)}; {missing} are missing.")
        version = np.asarray(arrays["format"])
        if version.shape != () or version.dtype.kind not in "iu" or int(version) < 1:
            raise ValueError(f"{where}: format must be an integer >= 1; got {version!r:.80}.")
        if int(version) > SAMPLER_FORMAT:
            raise ValueError(f"{where} has sampler format {int(version)}; this kerasae reads "
                             f"format <= {SAMPLER_FORMAT}. Upgrade kerasae.")
        return cls(arrays["weights"], arrays["means"], arrays["covariances"], where)

    def to_bytes(self) -> bytes:
        """The .npz bytes np.load reads, the same for the same mixture (np.savez stamps the
        current time into the zip, which would change the file's sha256 on every save)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for key, array in self.to_arrays().items():
                info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                with archive.open(info, "w") as stream:
                    np.lib.format.write_array(stream, np.asarray(array), allow_pickle=False)
        return buffer.getvalue()

    def save(self, path: str | os.PathLike) -> Path:
        """Write the arrays as a .npz (no pickled objects)."""
        path = Path(path)
        path.write_bytes(self.to_bytes())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> GaussianMixtureSampler:
        """Read a sampler file without pickle; a broken one is a ValueError naming the file."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path} is not a readable kerasae sampler file (a .npz of plain "
                             f"arrays, no pickle): {error}") from None
        return cls.from_arrays(arrays, where=str(path))

    def __repr__(self) -> str:
        return (f"GaussianMixtureSampler(n_components={self.n_components}, "
                f"latent_dim={self.latent_dim})")


def fit_gmm(codes, n_components: int = 10, seed: int = 0,
            covariance_type: str = "full") -> GaussianMixtureSampler:
    """A mixture fitted on `codes` (N, D) with scikit-learn's GaussianMixture (EM, k-means init).
    Needs scikit-learn (a dependency of kerasae) at fit time only."""
    from sklearn.mixture import GaussianMixture  # imported on use: it is slow
    codes = np.asarray(codes, dtype="float64")
    n_components = check_int(n_components, "n_components")
    if codes.ndim != 2 or len(codes) < n_components or not np.isfinite(codes).all():
        raise ValueError(f"codes must be a finite (N, latent_dim) array with N >= n_components "
                         f"({n_components}); got shape {codes.shape}.")
    mixture = GaussianMixture(n_components, covariance_type=covariance_type, random_state=seed,
                              reg_covar=1e-5, n_init=1, max_iter=200)
    mixture.fit(codes)
    covariances = mixture.covariances_
    d = codes.shape[1]
    if covariance_type == "diag":
        covariances = np.stack([np.diag(c) for c in covariances])
    elif covariance_type == "spherical":
        covariances = np.stack([np.eye(d) * c for c in covariances])
    elif covariance_type == "tied":
        covariances = np.repeat(covariances[None], n_components, axis=0)
    return GaussianMixtureSampler(mixture.weights_, mixture.means_, covariances)


def fit_gmm_sampler(model, data, n_components: int = 10, seed: int = 0, condition=None,
                    attach: bool = True, batch_size: int = 256) -> GaussianMixtureSampler:
    """Encode `data` (VAEs: to the posterior mean), fit a mixture on the codes and, by default,
    attach it to `model` so `model.sample(n, sampler="gmm")` and `save_preset` use it."""
    codes = model.encode(data, batch_size=batch_size, condition=condition)
    sampler = fit_gmm(codes, n_components=n_components, seed=seed)
    if attach:
        model.set_sampler(sampler)
    return sampler


__all__ = ["SAMPLER_METRIC_PREFIXES", "GaussianMixtureSampler", "fit_gmm", "fit_gmm_sampler"]
