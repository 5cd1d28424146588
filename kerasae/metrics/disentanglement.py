"""Disentanglement scores against known generative factors, as in google-research's
disentanglement_lib (Locatello et al. 2019): the mutual information gap, the beta-VAE and
FactorVAE scores and DCI disentanglement.

Codes are the representation to score: for a VAE, its posterior means (`model.encode`).
The beta-VAE and FactorVAE scores draw their own observations, so they take a dataset
implementing `GroundTruthDataset`; MIG and DCI take codes and factors already computed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kerasae._checks import check_int, check_positive_float, integer_labels, numbers
from kerasae.metrics.probe import SoftmaxRegression
from kerasae.protocols import Encodes


@runtime_checkable
class GroundTruthDataset(Protocol):
    """A dataset rendered from discrete generative factors (dSprites, shapes3d, ...).

    Factor j takes the values 0 .. factor_sizes[j] - 1. `sample_factors` draws factor
    combinations with the dataset's own distribution (uniform for dSprites) from a
    `numpy.random.Generator`; `images_from_factors` renders them, one observation per row, in
    the layout the model takes.
    """

    num_factors: int
    factor_sizes: list[int]

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray: ...

    def images_from_factors(self, factors: np.ndarray) -> np.ndarray: ...


# ----- the mutual information gap ------------------------------------------------------------


def _histogram_bins(codes: np.ndarray, num_bins: int) -> np.ndarray:
    """Each code dimension discretised into num_bins equal-width bins over its own range
    (disentanglement_lib's histogram discretiser: np.digitize on np.histogram's edges)."""
    binned = np.empty(codes.shape, dtype="int64")
    for j in range(codes.shape[1]):
        edges = np.histogram(codes[:, j], num_bins)[1][:-1]
        binned[:, j] = np.digitize(codes[:, j], edges) - 1
    return binned


def _discrete_mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """I(a; b) in nats for two integer label arrays, from their empirical joint distribution."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    size_b = int(b.max()) + 1
    counts = np.bincount(a * size_b + b, minlength=(int(a.max()) + 1) * size_b)
    joint = counts.reshape(-1, size_b) / len(a)
    outer = joint.sum(axis=1, keepdims=True) * joint.sum(axis=0, keepdims=True)
    nonzero = joint > 0
    return float(np.sum(joint[nonzero] * np.log(joint[nonzero] / outer[nonzero])))


def _discrete_entropy(a: np.ndarray) -> float:
    counts = np.unique(a, return_counts=True)[1] / len(a)
    return float(-np.sum(counts * np.log(counts)))


def _codes_and_factors(codes, factors) -> tuple[np.ndarray, np.ndarray]:
    codes = numbers(codes, "codes", ndim=2)
    factors = numbers(factors, "factors", ndim=2)
    if len(factors) != len(codes):
        raise ValueError(
            f"codes and factors must have one row per example; got {len(codes)} and "
            f"{len(factors)} rows."
        )
    columns = [integer_labels(factors[:, j], f"factors[:, {j}]") for j in range(factors.shape[1])]
    return codes, np.stack(columns, axis=1)


def mutual_information_matrix(codes, factors, num_bins: int = 20) -> np.ndarray:
    """I(code_i; factor_j) in nats, shape (code dims, factors), with each code dimension
    discretised into `num_bins` equal-width bins. factors: (N, num_factors) class indices."""
    codes, factors = _codes_and_factors(codes, factors)
    binned = _histogram_bins(codes, check_int(num_bins, "num_bins", minimum=2))
    return np.array(
        [[_discrete_mutual_information(binned[:, i], factors[:, j])
          for j in range(factors.shape[1])] for i in range(codes.shape[1])]
    )


def mutual_information_gap(codes, factors, num_bins: int = 20) -> float:
    """Mutual information gap (MIG, Chen et al. 2018), as disentanglement_lib computes it.

    For each factor: the mutual information of the most informative code dimension minus that
    of the runner-up, divided by the factor's entropy; then the mean over factors. In [0, 1]:
    1 when each factor is captured whole by one code dimension and by no other, 0 when no
    dimension stands out (a factor spread over several dimensions, or not captured).
    codes: (N, latent >= 2), e.g. a VAE's posterior means; factors: (N, num_factors) discrete
    values; num_bins: equal-width bins per code dimension (20 in disentanglement_lib).
    Every factor must vary across the N examples (its entropy is the normaliser).
    """
    codes, factors = _codes_and_factors(codes, factors)
    if codes.shape[1] < 2:
        raise ValueError(
            f"MIG compares the two most informative code dimensions; codes must have at least "
            f"2 columns, got {codes.shape[1]}."
        )
    entropy = np.array([_discrete_entropy(factors[:, j]) for j in range(factors.shape[1])])
    if np.any(entropy == 0):
        constant = np.flatnonzero(entropy == 0).tolist()
        raise ValueError(
            f"every factor must vary across the examples (MIG divides by its entropy); "
            f"factor column(s) {constant} take a single value."
        )
    information = mutual_information_matrix(codes, factors, num_bins)
    top_two = -np.sort(-information, axis=0)[:2]
    return float(np.mean((top_two[0] - top_two[1]) / entropy))


# ----- the beta-VAE score -----------------------------------------------------------------


def _check_dataset(dataset: Any) -> tuple[int, np.ndarray]:
    missing = [name for name in ("num_factors", "factor_sizes", "sample_factors",
                                 "images_from_factors") if not hasattr(dataset, name)]
    if missing:
        raise ValueError(
            f"dataset must implement kerasae.metrics.GroundTruthDataset; "
            f"{type(dataset).__name__} lacks {missing}."
        )
    num_factors = check_int(dataset.num_factors, "dataset.num_factors")
    sizes = np.asarray(list(dataset.factor_sizes))
    if sizes.shape != (num_factors,) or not all(
        isinstance(s, (int, np.integer)) and s >= 1 for s in sizes.tolist()
    ):
        raise ValueError(
            f"dataset.factor_sizes must list {num_factors} positive integers (one per factor); "
            f"got {list(dataset.factor_sizes)!r}."
        )
    return num_factors, sizes


def _sample_factors(dataset, n: int, rng: np.random.Generator, sizes: np.ndarray) -> np.ndarray:
    factors = np.asarray(dataset.sample_factors(n, rng))
    if factors.shape != (n, len(sizes)) or not np.issubdtype(factors.dtype, np.integer):
        raise ValueError(
            f"dataset.sample_factors({n}, rng) must return an integer array of shape "
            f"({n}, {len(sizes)}); got {factors.dtype} of shape {factors.shape}."
        )
    if np.any(factors < 0) or np.any(factors >= sizes):
        raise ValueError("dataset.sample_factors returned values outside 0 .. factor_sizes - 1.")
    return factors.copy()


def _encoder(encoder: Encodes | Callable[[np.ndarray], np.ndarray]
             ) -> Callable[[np.ndarray], np.ndarray]:
    if isinstance(encoder, (str, bytes)):
        pass  # str.encode is not an encoder
    elif isinstance(encoder, Encodes):
        return encoder.encode
    elif callable(encoder):
        return encoder
    raise ValueError(
        f"encoder must be a model with encode(x) or a function images -> codes; "
        f"got {type(encoder).__name__}."
    )


def _beta_vae_points(encode, dataset, sizes, num_points, batch_size, rng):
    """(features (num_points, latent), fixed factor index (num_points,)): Higgins et al.'s
    training points, encoded a few hundred observations per call rather than 2 x batch_size."""
    num_factors = len(sizes)
    per_call = max(1, 2048 // batch_size)
    features, indices = [], []
    for start in range(0, num_points, per_call):
        m = min(per_call, num_points - start)
        index = rng.integers(num_factors, size=m)
        first = _sample_factors(dataset, m * batch_size, rng, sizes).reshape(m, batch_size, -1)
        second = _sample_factors(dataset, m * batch_size, rng, sizes).reshape(m, batch_size, -1)
        second[np.arange(m), :, index] = first[np.arange(m), :, index]
        factors = np.concatenate([first, second]).reshape(2 * m * batch_size, num_factors)
        codes = _encode_factors(encode, dataset, factors).reshape(2, m, batch_size, -1)
        features.append(np.mean(np.abs(codes[0] - codes[1]), axis=1))
        indices.append(index)
    return np.concatenate(features), np.concatenate(indices)


def beta_vae_score(
    encoder,
    dataset: GroundTruthDataset,
    *,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    seed: int = 0,
    C: float = 1.0,
) -> dict:
    """The beta-VAE disentanglement score (Higgins et al. 2017) as in disentanglement_lib.

    Each point: pick a factor k at random, draw `batch_size` pairs of observations that
    share factor k's value (all other factors drawn independently), encode both, and average
    |code_1 - code_2| over the pairs. A linear classifier (multinomial logistic regression,
    inverse L2 strength C = 1 like scikit-learn's default, on the raw features) learns to
    predict k from `num_train` such points; the score is its accuracy on `num_eval` fresh
    points. High when some code dimension is unchanged exactly when one factor is fixed;
    chance is 1 / num_factors.

    encoder: a model (its `encode`, the posterior mean for VAEs) or a function images ->
    codes (N, latent). dataset: a `GroundTruthDataset`. Deterministic given `seed` (and a
    deterministic encoder). Returns {"train_accuracy", "eval_accuracy"}.
    """
    encode = _encoder(encoder)
    _, sizes = _check_dataset(dataset)
    batch_size = check_int(batch_size, "batch_size")
    num_train = check_int(num_train, "num_train", minimum=2)
    num_eval = check_int(num_eval, "num_eval")
    check_positive_float(C, "C")
    rng = np.random.default_rng(seed)
    train_x, train_y = _beta_vae_points(encode, dataset, sizes, num_train, batch_size, rng)
    eval_x, eval_y = _beta_vae_points(encode, dataset, sizes, num_eval, batch_size, rng)
    classifier = SoftmaxRegression(C=C).fit(train_x, train_y)
    return {
        "train_accuracy": classifier.score(train_x, train_y),
        "eval_accuracy": classifier.score(eval_x, eval_y),
    }


# ----- the FactorVAE score ----------------------------------------------------------------


def _encode_factors(encode, dataset, factors: np.ndarray) -> np.ndarray:
    codes = numbers(encode(dataset.images_from_factors(factors)), "codes", ndim=2)
    if len(codes) != len(factors):
        raise ValueError(
            f"the encoder returned {len(codes)} codes for {len(factors)} observations."
        )
    return codes


def _factor_vae_votes(encode, dataset, sizes, num_votes, batch_size, scale, active, rng):
    """(fixed factor, code dimension of least normalised variance) for each vote, encoding a
    few thousand observations per call rather than batch_size."""
    per_call = max(1, 4096 // batch_size)
    factor_index, dims = [], []
    for start in range(0, num_votes, per_call):
        m = min(per_call, num_votes - start)
        index = rng.integers(len(sizes), size=m)
        factors = _sample_factors(dataset, m * batch_size, rng, sizes).reshape(m, batch_size, -1)
        factors[np.arange(m), :, index] = factors[np.arange(m), 0, index][:, None]
        codes = _encode_factors(encode, dataset, factors.reshape(m * batch_size, -1))
        local = np.var(codes.reshape(m, batch_size, -1), axis=1, ddof=1)
        ratio = local[:, active] / scale[active] ** 2
        factor_index.append(index)
        dims.append(np.argmin(ratio, axis=1))
    return np.concatenate(factor_index), np.concatenate(dims)


def factor_vae_score(
    encoder,
    dataset: GroundTruthDataset,
    *,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    num_variance_estimate: int = 10000,
    seed: int = 0,
) -> dict:
    """The FactorVAE disentanglement score (Kim and Mnih 2018) as in disentanglement_lib.

    Each code dimension is scaled by its standard deviation over `num_variance_estimate`
    random observations; dimensions with a std below 0.05 are dropped as inactive. Each vote:
    pick a factor k, draw `batch_size` observations sharing factor k's value, and vote for the
    (remaining) code dimension of least scaled variance. A majority-vote classifier maps each
    dimension to the factor it most often voted for, learned from `num_train` votes; the score
    is its accuracy on `num_eval` fresh votes. 1 when fixing each factor pins down its own
    dimension; about 1 / num_factors for codes unrelated to the factors; 0 when no dimension
    is active. Deterministic given `seed`. Returns {"train_accuracy", "eval_accuracy",
    "num_active_dims"}.
    """
    encode = _encoder(encoder)
    num_factors, sizes = _check_dataset(dataset)
    batch_size = check_int(batch_size, "batch_size", minimum=2)
    num_train = check_int(num_train, "num_train")
    num_eval = check_int(num_eval, "num_eval")
    num_variance_estimate = check_int(num_variance_estimate, "num_variance_estimate",
                                         minimum=2)
    rng = np.random.default_rng(seed)
    sample = _sample_factors(dataset, num_variance_estimate, rng, sizes)
    scale = np.std(_encode_factors(encode, dataset, sample), axis=0, ddof=1)
    active = scale >= 0.05
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    votes = []
    for n in (num_train, num_eval):
        k, dim = _factor_vae_votes(encode, dataset, sizes, n, batch_size, scale, active, rng)
        counts = np.zeros((int(active.sum()), num_factors), dtype="int64")
        np.add.at(counts, (dim, k), 1)
        votes.append(counts)
    classifier = np.argmax(votes[0], axis=1)
    rows_ = np.arange(len(classifier))
    return {
        "train_accuracy": float(votes[0][rows_, classifier].sum() / num_train),
        "eval_accuracy": float(votes[1][rows_, classifier].sum() / num_eval),
        "num_active_dims": int(active.sum()),
    }


# ----- DCI disentanglement ----------------------------------------------------------------


def _normalised_entropy(weights: np.ndarray, base: int) -> np.ndarray:
    """Entropy of each row of non-negative weights (normalised to sum 1), in log base `base`."""
    p = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    logs = np.log(np.where(p > 0, p, 1.0)) / np.log(base)
    return -np.sum(p * logs, axis=1)


def _weighted_score(importance: np.ndarray) -> float:
    """1 - entropy of each row over the columns, averaged with each row's share of the total
    importance as weight (equal weights when nothing is important)."""
    if importance.shape[1] < 2:
        return 1.0
    score = 1.0 - _normalised_entropy(importance, importance.shape[1])
    total = importance.sum()
    weight = (importance.sum(axis=1) / total if total > 0
              else np.full(len(importance), 1.0 / len(importance)))
    return float(np.sum(score * weight))


def dci_disentanglement(codes, factors, eval_codes=None, eval_factors=None, *,
                        seed: int = 0) -> dict:
    """DCI (Eastwood and Williams 2018) as disentanglement_lib computes it.

    One gradient-boosted tree classifier per factor (scikit-learn's defaults) predicts that
    factor from the codes; its feature importances fill column j of the importance matrix
    R (code dims x factors). Disentanglement: for each code dimension, 1 - the entropy of its
    row of R in log base num_factors, averaged with weights = the dimension's share of all
    importance. Completeness: the same on the columns (each factor over the code dimensions,
    log base latent). Informativeness: the classifiers' mean accuracy (on eval_codes /
    eval_factors when given). All in [0, 1]; disentanglement is ~1 when each dimension
    predicts one factor only. codes: (N, latent); factors: (N, num_factors) discrete values.
    Needs scikit-learn (a dependency of kerasae). Deterministic given `seed`.
    Returns {"disentanglement", "completeness", "informativeness_train"[,
    "informativeness_eval"]}.
    """
    from sklearn.ensemble import GradientBoostingClassifier  # imported on use: it is slow
    codes, factors = _codes_and_factors(codes, factors)
    if (eval_codes is None) != (eval_factors is None):
        raise ValueError("give eval_codes and eval_factors together, or neither.")
    if eval_codes is not None:
        eval_codes, eval_factors = _codes_and_factors(eval_codes, eval_factors)
        if eval_codes.shape[1] != codes.shape[1] or eval_factors.shape[1] != factors.shape[1]:
            raise ValueError(
                f"eval_codes/eval_factors must have {codes.shape[1]} / {factors.shape[1]} "
                f"columns like codes/factors; got {eval_codes.shape[1]} / "
                f"{eval_factors.shape[1]}."
            )
    constant = [j for j in range(factors.shape[1]) if len(np.unique(factors[:, j])) < 2]
    if constant:
        raise ValueError(f"every factor must vary across the examples; factor column(s) "
                         f"{constant} take a single value.")
    importance = np.zeros((codes.shape[1], factors.shape[1]))
    train_accuracy, eval_accuracy = [], []
    for j in range(factors.shape[1]):
        model = GradientBoostingClassifier(random_state=seed).fit(codes, factors[:, j])
        importance[:, j] = np.abs(model.feature_importances_)
        train_accuracy.append(model.score(codes, factors[:, j]))
        if eval_codes is not None:
            eval_accuracy.append(model.score(eval_codes, eval_factors[:, j]))
    result = {
        "disentanglement": _weighted_score(importance),
        "completeness": _weighted_score(importance.T),
        "informativeness_train": float(np.mean(train_accuracy)),
    }
    if eval_codes is not None:
        result["informativeness_eval"] = float(np.mean(eval_accuracy))
    return result
