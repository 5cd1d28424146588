"""kerasae.metrics beyond the likelihood: PSNR, anomaly scores, PCA agreement, linear probes
and disentanglement scores.

Runs once per backend; each metric is checked against a value computed here another way
(brute force, eigenvalues, a construction whose answer is known), so a wrong metric fails.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import kerasae
from kerasae.metrics import (
    GroundTruthDataset,
    auroc,
    beta_vae_score,
    dci_disentanglement,
    decoder_pca_angles,
    factor_vae_score,
    linear_probe_accuracy,
    mutual_information_gap,
    mutual_information_matrix,
    pca_agreement,
    pca_reconstruction_error,
    precision_recall_at,
    principal_angles,
    principal_components,
    psnr,
)


def random_rotation(d: int, seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q * np.sign(np.diag(r))


# ----- PSNR --------------------------------------------------------------------------------


def test_psnr_of_known_errors():
    x = np.zeros((3, 2, 2))
    y = np.stack([np.full((2, 2), 0.1), np.full((2, 2), 0.01), np.zeros((2, 2))])
    values = psnr(x, y)
    assert values.shape == (3,)
    np.testing.assert_allclose(values[:2], [20.0, 40.0], atol=1e-9)
    assert values[2] == np.inf
    np.testing.assert_allclose(psnr(x * 255, y * 255, data_range=255.0)[:2], [20.0, 40.0])
    # per example, not pooled: MSEs 0.01 and 0.0001 give 20 and 40 dB
    mixed = psnr(np.zeros((2, 4)), np.array([[0.1] * 4, [0.0, 0.0, 0.0, 0.02]]))
    np.testing.assert_allclose(mixed, [20.0, 10 * np.log10(1 / (0.02**2 / 4))])


def test_psnr_rejects_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        psnr(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="data_range"):
        psnr(np.zeros((2, 3)), np.zeros((2, 3)), data_range=0)
    with pytest.raises(ValueError, match="batch axis"):
        psnr(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        psnr(np.full((2, 3), np.nan), np.zeros((2, 3)))


# ----- anomaly scores ----------------------------------------------------------------------


def pairwise_auroc(scores, labels) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = sum(float(p > n) + 0.5 * float(p == n) for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auroc_matches_the_pairwise_count_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=80).astype(float)  # many ties
    labels = (rng.random(80) < 0.3 + 0.1 * scores).astype(int)
    assert auroc(scores, labels) == pytest.approx(pairwise_auroc(scores, labels), abs=1e-12)
    assert auroc(np.ones(6), [0, 1, 0, 1, 1, 0]) == pytest.approx(0.5)


def test_auroc_extremes_and_chance():
    labels = np.array([0] * 50 + [1] * 30)
    scores = np.arange(80.0)
    assert auroc(scores, labels) == 1.0
    assert auroc(-scores, labels) == 0.0
    assert auroc(scores, labels.astype(bool)) == 1.0
    rng = np.random.default_rng(1)
    assert auroc(rng.normal(size=4000), rng.integers(0, 2, size=4000)) == pytest.approx(
        0.5, abs=0.04
    )


def test_precision_recall_at_a_threshold():
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.2])
    labels = np.array([0, 0, 1, 1, 1])
    result = precision_recall_at(scores, labels, 0.35)  # flags 0.4, 0.35, 0.8
    assert result["flagged"] == 3
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["f1"] == pytest.approx(2 / 3)
    nothing = precision_recall_at(scores, labels, 1.0)
    assert nothing == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "flagged": 0}
    everything = precision_recall_at(scores, labels, 0.0)
    assert (everything["precision"], everything["recall"]) == (pytest.approx(0.6), 1.0)


def test_anomaly_scores_reject_bad_input():
    with pytest.raises(ValueError, match="both classes"):
        auroc([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="0 .negative. or 1"):
        auroc([0.1, 0.2, 0.3], [0, 1, 2])
    with pytest.raises(ValueError, match="3 entries"):
        auroc([0.1, 0.2, 0.3], [0, 1])
    with pytest.raises(ValueError, match="NaN"):
        auroc([0.1, np.nan], [0, 1])
    with pytest.raises(ValueError, match="at least one positive"):
        precision_recall_at([0.1, 0.2], [0, 0], 0.1)
    with pytest.raises(ValueError, match="threshold"):
        precision_recall_at([0.1, 0.2], [0, 1], float("nan"))


# ----- PCA agreement -----------------------------------------------------------------------

D, K = 8, 3


@pytest.fixture(scope="module")
def pca_data():
    """Anisotropic Gaussian data in a rotated frame with an offset, train and eval splits."""
    rng = np.random.default_rng(0)
    scales = np.array([5.0, 3.0, 2.0, 1.0, 0.7, 0.5, 0.3, 0.2])
    rotation = random_rotation(D, 1)
    offset = rng.normal(size=D) * 3
    make = lambda n: (rng.normal(size=(n, D)) * scales) @ rotation.T + offset  # noqa: E731
    return make(2000), make(500)


def test_pca_error_is_the_discarded_variance(pca_data):
    x_train, x_eval = pca_data
    eigenvalues = np.sort(np.linalg.eigvalsh(np.cov(x_train.T, bias=True)))[::-1]
    for k in (1, K, D - 1):
        expected = eigenvalues[k:].sum() / D
        assert pca_reconstruction_error(x_train, x_train, k) == pytest.approx(expected, rel=1e-9)
    assert pca_reconstruction_error(x_train, x_train, D) == pytest.approx(0.0, abs=1e-20)
    # on other data: the train mean and axes are used (a point on the fitted plane costs 0)
    fitted = principal_components(x_train, K)
    on_plane = fitted.mean + np.random.default_rng(2).normal(size=(50, K)) @ fitted.components.T
    assert pca_reconstruction_error(x_train, on_plane, K) == pytest.approx(0.0, abs=1e-20)
    error = pca_reconstruction_error(x_train, x_eval, K)
    assert error == pytest.approx(eigenvalues[K:].sum() / D, rel=0.2)  # same distribution
    # examples of any shape are flattened
    assert pca_reconstruction_error(x_train.reshape(-1, 2, 4), x_eval.reshape(-1, 4, 2), K) == (
        pytest.approx(error)
    )


def test_principal_angles_between_known_subspaces():
    rng = np.random.default_rng(3)
    basis = random_rotation(6, 4)
    a, orthogonal = basis[:, :2], basis[:, 2:5]
    np.testing.assert_allclose(principal_angles(a, a @ rng.normal(size=(2, 2))), 0, atol=1e-6)
    np.testing.assert_allclose(principal_angles(a, orthogonal), [90, 90], atol=1e-6)
    theta = 30.0  # b shares a's first axis; its second leans out of span(a) by theta
    tilted = np.cos(np.radians(theta)) * basis[:, 1:2] + np.sin(np.radians(theta)) * basis[:, 3:4]
    b = np.concatenate([basis[:, :1], tilted], axis=1)
    expected = [0.0, theta]
    np.testing.assert_allclose(principal_angles(a, b), expected, atol=1e-6)
    # invariant to the basis of either subspace
    mix_a, mix_b = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    np.testing.assert_allclose(principal_angles(a @ mix_a, b @ mix_b), expected, atol=1e-6)
    # a line inside a plane: one angle, zero
    np.testing.assert_allclose(principal_angles(a[:, :1] + a[:, 1:], a), [0.0], atol=1e-6)


def test_principal_angles_reject_bad_input():
    with pytest.raises(ValueError, match="same number of rows"):
        principal_angles(np.eye(3)[:, :2], np.eye(4)[:, :2])
    with pytest.raises(ValueError, match="full column rank"):
        principal_angles(np.ones((3, 2)), np.eye(3)[:, :2])
    with pytest.raises(ValueError, match="2-D"):
        principal_angles(np.ones(3), np.eye(3))


def test_decoder_angles_to_the_pca_subspace(pca_data):
    x_train, _ = pca_data
    fitted = principal_components(x_train, D)
    top, rest = fitted.components[:, :K], fitted.components[:, K:]
    mix = np.random.default_rng(5).normal(size=(K, K))
    kernel = mix @ top.T  # Keras layout (latent, D): any basis of the top-k subspace
    np.testing.assert_allclose(decoder_pca_angles(kernel, x_train), 0, atol=1e-5)
    np.testing.assert_allclose(decoder_pca_angles(kernel.T, x_train), 0, atol=1e-5)
    np.testing.assert_allclose(decoder_pca_angles(rest[:, :K].T, x_train), 90, atol=1e-5)
    assert decoder_pca_angles(kernel, x_train, k=1).shape == (1,)
    with pytest.raises(ValueError, match=r"\(latent, 8\)"):
        decoder_pca_angles(np.ones((3, 5)), x_train)


def pca_linear_ae(x_train, k: int, mix: np.ndarray):
    """A linear_ae whose weights are PCA's, in a mixed basis: code = mix^T V^T (x - mean)."""
    model = kerasae.build("linear_ae", input_shape=(x_train.shape[1],), latent_dim=k)
    fitted = principal_components(x_train, k)
    v = fitted.components
    encoder_kernel = v @ mix
    decoder_kernel = np.linalg.inv(mix) @ v.T
    model.encoder.get_layer("encoder_code").set_weights(
        [encoder_kernel, -fitted.mean @ encoder_kernel])
    model.decoder.get_layer("decoder_output").set_weights([decoder_kernel, fitted.mean])
    return model


def test_pca_agreement_of_a_linear_autoencoder_at_the_pca_optimum(pca_data):
    x_train, x_eval = pca_data
    mix = np.eye(K) + 0.3 * np.random.default_rng(6).normal(size=(K, K))
    model = pca_linear_ae(x_train.astype("float32"), K, mix)
    result = pca_agreement(x_train, x_eval, model)
    assert result["k"] == K
    assert result["pca_mse"] == pytest.approx(pca_reconstruction_error(x_train, x_eval, K))
    assert abs(result["relative_gap"]) < 1e-3
    kernel = model.decoder.get_layer("decoder_output").kernel  # a backend variable
    assert np.max(decoder_pca_angles(kernel, x_train)) < 0.1
    # from arrays: a worse (rank k - 1) reconstruction has a positive gap; a perfect one -1
    worse = principal_components(x_train, K - 1)
    centred = x_eval - worse.mean
    recon = worse.mean + centred @ worse.components @ worse.components.T
    worse_result = pca_agreement(x_train, x_eval, recon, K)
    assert worse_result["model_mse"] == pytest.approx(np.mean((x_eval - recon) ** 2))
    assert worse_result["relative_gap"] > 0.1
    assert pca_agreement(x_train, x_eval, x_eval, K)["relative_gap"] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="x_eval's shape"):
        pca_agreement(x_train, x_eval, recon[:10], K)
    with pytest.raises(ValueError, match="k .the code size"):
        pca_agreement(x_train, x_eval, recon)
    with pytest.raises(ValueError, match="at most min"):
        pca_reconstruction_error(x_train, x_eval, D + 1)


# ----- linear probe ------------------------------------------------------------------------


def clusters(n: int, seed: int, classes: int = 4, dim: int = 8, spread: float = 0.5):
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(classes, dim)) * 2
    labels = rng.integers(classes, size=n)
    return centres[labels] + spread * rng.normal(size=(n, dim)), labels


def test_linear_probe_separates_clusters_and_not_random_labels():
    train, y_train = clusters(2000, 0)
    test, y_test = clusters(1000, 1)
    accuracy = linear_probe_accuracy(train, y_train, test, y_test)
    assert accuracy > 0.97
    assert linear_probe_accuracy(train, y_train, test, y_test) == accuracy  # deterministic
    # standardised: rescaling a dimension changes nothing
    scale = np.array([1e3, 1e-3, 1, 1, 1, 1, 1, 1])
    assert linear_probe_accuracy(train * scale, y_train, test * scale, y_test) == pytest.approx(
        accuracy, abs=2e-3
    )
    rng = np.random.default_rng(2)
    chance = linear_probe_accuracy(train, rng.integers(4, size=2000), test,
                                   rng.integers(4, size=1000))
    assert chance < 0.33  # chance is 0.25


def test_linear_probe_needs_a_linear_boundary():
    """XOR labels are not linearly decodable; the same labels with their product are."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(3000, 2))
    labels = (x[:, 0] * x[:, 1] > 0).astype(int)
    assert linear_probe_accuracy(x[:2000], labels[:2000], x[2000:], labels[2000:]) < 0.65
    lifted = np.concatenate([x, x[:, :1] * x[:, 1:]], axis=1)
    assert linear_probe_accuracy(lifted[:2000], labels[:2000], lifted[2000:], labels[2000:]) > 0.9


def test_linear_probe_rejects_bad_input():
    train, y_train = clusters(100, 0)
    with pytest.raises(ValueError, match="100 entries"):
        linear_probe_accuracy(train, y_train[:50], train, y_train)
    with pytest.raises(ValueError, match="as many dimensions"):
        linear_probe_accuracy(train, y_train, train[:, :3], y_train)
    with pytest.raises(ValueError, match="at least 2 classes"):
        linear_probe_accuracy(train, np.zeros(100), train, y_train)
    with pytest.raises(ValueError, match="whole numbers"):
        linear_probe_accuracy(train, y_train + 0.5, train, y_train)


# ----- disentanglement ---------------------------------------------------------------------

SIZES = (3, 4, 5, 6)


class ToyFactors:
    """A ground-truth dataset whose 'images' are the factors scaled to [0, 1] followed by two
    constant features: an identity-like encoder is perfectly disentangled."""

    def __init__(self, sizes=SIZES):
        self.factor_sizes = list(sizes)
        self.num_factors = len(sizes)

    def sample_factors(self, n, rng):
        return np.stack([rng.integers(size, size=n) for size in self.factor_sizes], axis=1)

    def images_from_factors(self, factors):
        scaled = factors / (np.array(self.factor_sizes) - 1.0)
        return np.concatenate([scaled, np.zeros((len(factors), 2))], axis=1).astype("float32")


def factor_sample(n: int, seed: int) -> np.ndarray:
    return ToyFactors().sample_factors(n, np.random.default_rng(seed))


def brute_force_information(code: np.ndarray, factor: np.ndarray, num_bins: int) -> float:
    low, high = code.min(), code.max()
    bins = np.minimum(((code - low) / (high - low) * num_bins).astype(int), num_bins - 1)
    n = len(code)
    information = 0.0
    for b in set(bins.tolist()):
        for f in set(factor.tolist()):
            joint = np.sum((bins == b) & (factor == f)) / n
            if joint > 0:
                information += joint * np.log(joint / (np.mean(bins == b) * np.mean(factor == f)))
    return information


def test_mutual_information_matrix_matches_a_brute_force_count():
    factors = factor_sample(600, 0)
    rng = np.random.default_rng(1)
    codes = np.stack([factors[:, 0] + rng.uniform(0, 1, 600), rng.uniform(size=600)], axis=1)
    matrix = mutual_information_matrix(codes, factors, num_bins=7)
    assert matrix.shape == (2, len(SIZES))
    for i, j in itertools.product(range(2), range(len(SIZES))):
        expected = brute_force_information(codes[:, i], factors[:, j], 7)
        assert matrix[i, j] == pytest.approx(expected, abs=1e-12)


def test_mig_is_one_for_axis_aligned_codes_and_zero_otherwise():
    factors = factor_sample(5000, 2)
    rng = np.random.default_rng(3)
    noise = rng.normal(size=(5000, 3))
    aligned = np.concatenate([factors * [1.0, -2.0, 0.5, 3.0], noise], axis=1)
    assert mutual_information_gap(aligned, factors) > 0.95
    shuffled = aligned[:, [5, 2, 4, 0, 6, 1, 3]]  # the order of code dimensions is irrelevant
    assert mutual_information_gap(shuffled, factors) == pytest.approx(
        mutual_information_gap(aligned, factors))
    assert mutual_information_gap(rng.normal(size=(5000, 6)), factors) < 0.05
    # each code dimension mixes two factors equally: no dimension stands out for any factor
    scaled = factors / (np.array(SIZES) - 1.0)
    mixed = np.stack([scaled[:, 0] + scaled[:, 1], scaled[:, 0] - scaled[:, 1],
                      scaled[:, 2] + scaled[:, 3], scaled[:, 2] - scaled[:, 3]], axis=1)
    assert mutual_information_gap(mixed, factors) < 0.1
    # one factor captured, three not: MIG = 1/4
    partial = np.concatenate([factors[:, :1], noise], axis=1)
    assert mutual_information_gap(partial, factors) == pytest.approx(0.25, abs=0.02)


def test_mig_rejects_bad_input():
    factors = factor_sample(100, 0)
    codes = np.random.default_rng(0).normal(size=(100, 4))
    with pytest.raises(ValueError, match="at least 2 columns"):
        mutual_information_gap(codes[:, :1], factors)
    with pytest.raises(ValueError, match="single value"):
        mutual_information_gap(codes, np.concatenate([factors, np.zeros((100, 1))], axis=1))
    with pytest.raises(ValueError, match="one row per example"):
        mutual_information_gap(codes[:50], factors)
    with pytest.raises(ValueError, match="whole numbers"):
        mutual_information_gap(codes, factors + 0.5)
    with pytest.raises(ValueError, match="num_bins"):
        mutual_information_gap(codes, factors, num_bins=1)


SMALL = {"batch_size": 16, "num_train": 400, "num_eval": 300}


def test_beta_vae_score_separates_disentangled_from_mixed_codes():
    dataset = ToyFactors()
    assert isinstance(dataset, GroundTruthDataset)
    identity = beta_vae_score(lambda x: x[:, :4], dataset, **SMALL)
    assert identity["eval_accuracy"] > 0.95 and identity["train_accuracy"] > 0.95
    assert beta_vae_score(lambda x: x[:, :4], dataset, **SMALL) == identity  # seeded
    rotation = random_rotation(4, 7)
    rng = np.random.default_rng(8)
    mixed = beta_vae_score(lambda x: x[:, :4] @ rotation + 0.5 * rng.normal(size=(len(x), 4)),
                           dataset, **SMALL)
    assert mixed["eval_accuracy"] < 0.6
    noise = beta_vae_score(lambda x: rng.normal(size=(len(x), 4)), dataset, **SMALL)
    assert noise["eval_accuracy"] < 0.4  # chance is 0.25


def test_beta_vae_score_of_a_model():
    """A linear_ae whose code is the factors (its encode is what the score runs)."""
    model = kerasae.build("linear_ae", input_shape=(6,), latent_dim=4)
    model.encoder.get_layer("encoder_code").set_weights([np.eye(6, 4), np.zeros(4)])
    result = beta_vae_score(model, ToyFactors(), batch_size=16, num_train=256, num_eval=128)
    assert result["eval_accuracy"] > 0.95


def test_beta_vae_score_rejects_bad_datasets():
    class NoRender:
        num_factors, factor_sizes = 2, [2, 3]

        def sample_factors(self, n, rng):
            return np.zeros((n, 2), dtype=int)

    with pytest.raises(ValueError, match="lacks \\['images_from_factors'\\]"):
        beta_vae_score(lambda x: x, NoRender(), **SMALL)

    class WrongShape(ToyFactors):
        def sample_factors(self, n, rng):
            return super().sample_factors(n, rng)[:, :2]

    with pytest.raises(ValueError, match="must return an integer array of shape"):
        beta_vae_score(lambda x: x, WrongShape(), **SMALL)

    class WrongSizes(ToyFactors):
        factor_sizes = [3, 4]

        def __init__(self):
            self.num_factors = 4

    with pytest.raises(ValueError, match="factor_sizes must list 4"):
        beta_vae_score(lambda x: x, WrongSizes(), **SMALL)
    with pytest.raises(ValueError, match="batch_size"):
        beta_vae_score(lambda x: x, ToyFactors(), batch_size=0)
    with pytest.raises(ValueError, match="encoder"):
        beta_vae_score("not an encoder", ToyFactors(), **SMALL)


FACTOR_VAE = {"batch_size": 16, "num_train": 300, "num_eval": 200, "num_variance_estimate": 500}


def test_factor_vae_score_is_one_for_the_factors_and_chance_for_noise():
    dataset = ToyFactors()
    # the two constant features have std 0: pruned as inactive, so they cannot win a vote
    perfect = factor_vae_score(lambda x: x, dataset, **FACTOR_VAE)
    assert perfect == {"train_accuracy": 1.0, "eval_accuracy": 1.0, "num_active_dims": 4}
    scaled = factor_vae_score(lambda x: x[:, [3, 1, 0, 2]] * [5.0, 0.5, 2.0, 1.0], dataset,
                              **FACTOR_VAE)
    assert scaled["eval_accuracy"] == 1.0  # order and scale of code dimensions are irrelevant

    def noise(x):  # a fresh generator per call seeded by the batch: deterministic
        return np.random.default_rng(int(x.sum() * 1000) % 2**32).normal(size=(len(x), 4))

    first = factor_vae_score(noise, dataset, **FACTOR_VAE)
    assert first["eval_accuracy"] < 0.45  # chance is 0.25
    assert factor_vae_score(noise, dataset, **FACTOR_VAE) == first  # seeded
    silent = factor_vae_score(lambda x: np.zeros((len(x), 4)), dataset, **FACTOR_VAE)
    assert silent == {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    with pytest.raises(ValueError, match="batch_size"):
        factor_vae_score(lambda x: x, dataset, batch_size=1)


def test_dci_of_the_factors_and_of_noise():
    """Small factors (sizes 2, 3, 3): one GBT of 100 trees per class keeps this quick."""
    rng = np.random.default_rng(4)
    factors, held_out = (np.stack([rng.integers(s, size=n) for s in (2, 3, 3)], axis=1)
                         for n in (200, 100))
    perfect = dci_disentanglement(factors * [1.0, -2.0, 0.5], factors,
                                  held_out * [1.0, -2.0, 0.5], held_out)
    assert perfect["disentanglement"] > 0.95 and perfect["completeness"] > 0.95
    assert perfect["informativeness_eval"] == 1.0
    noise = dci_disentanglement(rng.normal(size=(200, 3)), factors, rng.normal(size=(100, 3)),
                                held_out)
    assert noise["disentanglement"] < 0.3 and noise["completeness"] < 0.3
    assert noise["informativeness_eval"] < 0.6  # chance is about 0.39
    codes = rng.normal(size=(100, 2))
    assert dci_disentanglement(codes, factors[:100, :1], seed=3) == dci_disentanglement(
        codes, factors[:100, :1], seed=3)
    with pytest.raises(ValueError, match="together"):
        dci_disentanglement(codes, factors[:100], eval_codes=codes)
    with pytest.raises(ValueError, match="single value"):
        dci_disentanglement(codes, np.stack([factors[:100, 0], np.zeros(100)], axis=1))
