"""Measure a bundled preset on held-out data and write the numbers into its model card.

    KERAS_BACKEND=tensorflow python scripts/evaluate.py vae_mnist [--dry-run]

Every number in a model card comes from here; rerun it to check them. Beside a number the card
shows its target and a reference figure from the literature with its source (both declared in
kerasae.presets.cards, never measured; a missed target is stated in the card), and a floor
measured here on the same data by a baseline a user can compare with (PCA, raw pixels, the
noisy input).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

import kerasae
from kerasae import metrics
from kerasae.data import ContrastMinMax, shipped_sample
from kerasae.hub import update_metadata
from kerasae.presets import RECIPES, Recipe, recipe
from kerasae.presets.cards import annotate, missed_targets, targets_note
from kerasae.protocols import Conditioned
from kerasae.samplers import SAMPLER_METRIC_PREFIXES

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"  # unless $KERASAE_DATA_DIR says otherwise
Metrics = dict[str, dict]


def metric(value: float, description: str, split: str = "test", reference: str | None = None,
           floor: dict | None = None, **extra) -> dict:
    """A measured number; a `reference` given here is measured too (a cited one, and the
    target, come from kerasae.presets.cards)."""
    entry = {"value": _round(value), "split": split, "description": description}
    if reference is not None:
        entry["reference"] = reference
    if floor is not None:
        entry["floor"] = floor
    return {**entry, **extra}


def baseline(value: float, what: str) -> dict:
    """A floor: the same metric, same data, for a baseline that learns nothing deep."""
    return {"value": _round(value), "description": what}


def _round(value: float) -> float:
    return float(f"{float(value):.6g}")


def raw_pixels(x: np.ndarray) -> np.ndarray:
    """Images -> their pixels as float32 vectors (N, pixels): the features of no encoder."""
    return np.asarray(x, "float32").reshape(len(x), -1)


def pca_codes(x_fit: np.ndarray, k: int) -> Callable[[np.ndarray], np.ndarray]:
    """Images -> their top-k principal-component coordinates (fitted on x_fit)."""
    pcs = metrics.principal_components(raw_pixels(x_fit), k)
    return lambda x: (raw_pixels(x) - pcs.mean) @ pcs.components


def pca_reconstruct(x_fit: np.ndarray, k: int,
                    clip: bool = True) -> Callable[[np.ndarray], np.ndarray]:
    """Images -> their projection onto the top-k principal subspace of x_fit, clipped to [0, 1]
    (pixels) unless `clip` is False (preprocessed images whose range is not [0, 1])."""
    pcs = metrics.principal_components(x_fit.reshape(len(x_fit), -1), k)

    def reconstruct(x: np.ndarray) -> np.ndarray:
        flat = np.asarray(x, "float32").reshape(len(x), -1) - pcs.mean
        projected = (flat @ pcs.components) @ pcs.components.T + pcs.mean
        if clip:
            projected = np.clip(projected, 0, 1)
        return projected.reshape(x.shape).astype("float32")
    return reconstruct


def reconstruction_metrics(model, x) -> Metrics:
    recon = model.reconstruct(x)
    return {
        "test_mse": metric(np.mean((recon - x) ** 2), "mean squared error per pixel"),
        "test_psnr_db": metric(metrics.psnr(x, recon).mean(), "mean PSNR per image (dB)"),
    }


def eval_reconstruction(model, r: Recipe, data) -> Metrics:
    return reconstruction_metrics(model, data.test["x"])


def eval_linear(model, r: Recipe, data) -> Metrics:
    x_train, x_test = data.test["x_train"], data.test["x"]
    agreement = metrics.pca_agreement(x_train, x_test, model)
    kernel = keras.ops.convert_to_numpy(model.decoder.get_layer("decoder_output").kernel)
    angles = metrics.decoder_pca_angles(kernel, x_train, k=model.latent_dim)
    return {
        "test_mse": metric(agreement["model_mse"], "mean squared error per pixel"),
        "pca_test_mse": metric(agreement["pca_mse"],
                               f"PCA with k={agreement['k']} fitted on the training images"),
        "relative_gap_to_pca": metric(agreement["relative_gap"],
                                      "test MSE / PCA test MSE - 1"),
        "max_principal_angle_deg": metric(angles.max(), "largest principal angle between the "
                                          "decoder's column space and the PCA subspace",
                                          split="train"),
    }


def eval_denoising(model, r: Recipe, data) -> Metrics:
    """Denoising PSNR beside two floors: the noisy input itself, and PCA with as many
    components as the code (fitted on the clean training images) applied to the noisy input."""
    x = data.test["x"]
    noisy = np.clip(x + np.random.default_rng(0).normal(0, 0.5, x.shape), 0, 1).astype("float32")
    clean = model.reconstruct(noisy)
    k = model.latent_dim
    pca = pca_reconstruct(data.test["x_train"], k)
    pca_words = f"PCA, k={k} (the code size), fitted on the clean training images"
    out = reconstruction_metrics(model, x)
    out["test_psnr_db"]["floor"] = baseline(metrics.psnr(x, pca(x)).mean(),
                                            f"{pca_words}, on the clean test images")
    return {
        **out,
        "denoised_psnr_db": metric(
            metrics.psnr(x, clean).mean(), "PSNR of denoised test images, Gaussian noise "
            "sigma=0.5 clipped to [0, 1], noise seed 0",
            floor=baseline(metrics.psnr(x, pca(noisy)).mean(), f"{pca_words}, projecting the "
                           "noisy inputs")),
        "noisy_psnr_db": metric(metrics.psnr(x, noisy).mean(), "PSNR of the noisy inputs (the "
                                "floor of doing nothing)"),
    }


def eval_sparse(model, r: Recipe, data) -> Metrics:
    codes = model.encode(data.test["x"])
    rho = r.build["rho"]
    mean = codes.mean()
    units = hidden_unit_picture(model, "hidden_units_mnist.png", columns=14)
    constant = data.test["x_train"].reshape(len(data.test["x_train"]), -1).std(axis=0) == 0
    mass = (units.reshape(len(units), -1) ** 2)[:, constant].sum(axis=1)
    return {
        **reconstruction_metrics(model, data.test["x"]),
        "mean_activation": metric(mean, f"mean code activation on test images (target rho={rho})"),
        "activation_relative_error": metric(abs(mean - rho) / rho, "|mean activation - rho| / rho"),
        "constant_pixel_weight_share": metric(
            np.median(mass), f"median over hidden units of the share of its squared (unit-norm) "
            f"input weights on the {int(constant.sum())} pixels that never vary in the training "
            "images (border noise; 0 is clean)", split="train"),
    }


DEMO = ROOT / "docs" / "demo"


def hidden_unit_picture(model, filename: str, columns: int) -> np.ndarray:
    """What each hidden unit responds to (the seed's x_j = W_ij / ||W_j||), saved as a grid in
    docs/demo/ for the README and the card."""
    from kerasae.apps import pictures

    units = pictures.hidden_unit_inputs(model)
    DEMO.mkdir(parents=True, exist_ok=True)
    pictures.unit_grid(units.reshape(len(units), -1).reshape(len(units), *_picture_shape(model)),
                       DEMO / filename, columns=columns)
    return units


def _picture_shape(model) -> tuple[int, int]:
    shape = tuple(model.data_shape)
    if len(shape) == 3 and shape[-1] == 1:
        return shape[:2]
    side = int(round(np.sqrt(np.prod(shape))))
    return (side, side)


def probe(encode: Callable[[np.ndarray], np.ndarray], data) -> float:
    """Linear-probe accuracy of the features `encode` gives: a logistic regression fitted on
    the training images' features, scored on the test images' (metrics.linear_probe_accuracy)."""
    x_train, x = data.test["x_train"], data.test["x"]
    return metrics.linear_probe_accuracy(encode(x_train), data.test["y_train"], encode(x),
                                         data.test["y"])


def eval_probe(model, r: Recipe, data) -> Metrics:
    out = reconstruction_metrics(model, data.test["x"])
    k = model.latent_dim
    floor = probe(pca_codes(data.test["x_train"], k), data)
    out["linear_probe_accuracy"] = metric(
        probe(model.encode, data), "logistic regression on the codes, trained on the training "
        "images, accuracy on the test images",
        floor=baseline(floor, f"the same probe on PCA, k={k} (the code size), fitted on the "
                       "training images"))
    return out


def eval_conv(model, r: Recipe, data) -> Metrics:
    """Reconstruction of the preset itself, plus the one-class protocol of Ruff et al. (Deep
    SVDD, ICML 2018) with their DCAE baseline's recipe: for each digit, preprocess as they do,
    train a small LeNet-type conv autoencoder on that digit only, and score the whole test set
    by reconstruction error."""
    out = reconstruction_metrics(model, data.test["x"])
    x_train, y_train = data.test["x_train"], data.test["y_train"]
    x_test, y_test = data.test["x"], data.test["y"]
    aurocs, pca_aurocs = [], []
    for digit in range(10):
        auroc, pca_auroc = one_class_auroc(digit, x_train, y_train, x_test, y_test)
        aurocs.append(auroc)
        pca_aurocs.append(pca_auroc)
        print(f"  one-class digit {digit}: AUROC {auroc:.4f} (PCA {pca_auroc:.4f})", flush=True)
    epochs = ", then ".join(f"{n} epochs at learning rate {lr:g}"
                            for n, lr in ONE_CLASS_SCHEDULE)
    out["one_class_mean_auroc"] = metric(
        np.mean(aurocs), "mean over digits of the test AUROC (anomaly = any other digit) of a "
        "conv_ae trained on one digit's training images with the protocol of Ruff et al. "
        "(2018): each image contrast-normalised (minus its mean, divided by its mean absolute "
        "deviation), then min-max scaled to [0, 1] with the min and max of the normal digit's "
        "training images (the same transform on the test set); a LeNet-type autoencoder like "
        f"their DCAE (conv_ae, filters {ONE_CLASS_BUILD['filters']}, kernel "
        f"{ONE_CLASS_BUILD['kernel_size']}, {ONE_CLASS_BUILD['activation']}, "
        f"{ONE_CLASS_BUILD['latent_dim']}-dimensional code, MSE); Adam, batch "
        f"{ONE_CLASS_BATCH_SIZE}, {epochs}; seed = the digit; score = reconstruction "
        "error",
        floor=baseline(np.mean(pca_aurocs), "PCA with as many components as the code, fitted "
                       "on the digit's preprocessed training images, reconstruction error of "
                       "the preprocessed test images as the score"),
        per_digit=[round(float(a), 4) for a in aurocs])
    return out


# The one-class recipe (Ruff et al. 2018's DCAE): its architecture and its schedule of
# (epochs, learning rate) phases with Adam.
ONE_CLASS_BUILD = {"input_shape": (28, 28, 1), "latent_dim": 32, "filters": (8, 4),
                   "kernel_size": 5, "activation": "leaky_relu", "reconstruction_loss": "mse"}
ONE_CLASS_SCHEDULE = ((55, 1e-3), (20, 1e-4))
ONE_CLASS_BATCH_SIZE = 200


def one_class_auroc(digit: int, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                    y_test: np.ndarray, schedule=ONE_CLASS_SCHEDULE) -> tuple[float, float]:
    """(conv_ae AUROC, PCA floor AUROC) with `digit` as the normal class."""
    normal = x_train[y_train == digit]
    prep = ContrastMinMax.fit(normal, scale="l1")
    train, test = prep(normal), prep(x_test)
    anomalous = (y_test != digit).astype(int)
    keras.utils.set_random_seed(digit)
    one_class = kerasae.build("conv_ae", **ONE_CLASS_BUILD)
    optimizer = keras.optimizers.Adam(schedule[0][1])
    one_class.compile(optimizer=optimizer)
    for epochs, learning_rate in schedule:
        optimizer.learning_rate.assign(learning_rate)
        one_class.fit(train, epochs=epochs, batch_size=ONE_CLASS_BATCH_SIZE, verbose=0)
    auroc = metrics.auroc(one_class.reconstruction_error(test), anomalous)
    pca = pca_reconstruct(train, one_class.latent_dim, clip=False)
    pca_auroc = metrics.auroc(np.mean((pca(test) - test) ** 2, axis=(1, 2, 3)), anomalous)
    return float(auroc), float(pca_auroc)


def eval_vae(model, r: Recipe, data) -> Metrics:
    x = data.test["x"]
    bound = metrics.importance_weighted_bound(model, x, k=IWAE_K, seed=0)
    elbo = metrics.importance_weighted_bound(model, x, k=1, seed=0)
    units = metrics.active_units(model, x)
    return {
        "test_nll_nats": metric(-bound.mean(), f"negative log-likelihood, importance-weighted "
                                f"bound with k={IWAE_K} (seed 0), MNIST test images binarised "
                                "by Bernoulli sampling (seed 1)"),
        "test_negative_elbo_nats": metric(-elbo.mean(), "negative ELBO (k=1 estimate)"),
        "active_units": metric(units["num_active"], f"latent dimensions (of {model.latent_dim}) "
                               "whose posterior mean varies, Cov > 0.01"),
    }


IWAE_K = 1000


def eval_cvae(model, r: Recipe, data) -> Metrics:
    """Samples conditioned on each digit, classified by a CNN trained on MNIST."""
    x_test, y_test = data.test["x"], data.test["y"]
    x_train, y_train = data.train
    classifier = digit_classifier(x_train, y_train)
    test_accuracy = float(np.mean(classifier.predict(x_test, verbose=0).argmax(-1) == y_test))
    labels = np.repeat(np.arange(10), 100)
    samples = model.sample(len(labels), seed=0, condition=labels)
    hits = classifier.predict(samples, verbose=0).argmax(-1) == labels
    gaussian = class_gaussian_samples(x_train, y_train, labels, model.latent_dim)
    gaussian_hits = classifier.predict(gaussian, verbose=0).argmax(-1) == labels
    return {
        "conditional_sample_accuracy": metric(
            hits.mean(), "fraction of 1,000 samples (100 per digit, seed 0) that a CNN trained "
            f"on MNIST (test accuracy {test_accuracy:.4f}) classifies as the requested digit",
            split="samples",
            reference=f"{test_accuracy:.4f}: the same CNN on the real test digits (the ceiling, "
            "measured here); no published figure for this protocol",
            floor=baseline(gaussian_hits.mean(), f"1,000 samples of a Gaussian per digit in its "
                           f"top-{model.latent_dim} principal components (PCA of that digit's "
                           "training images, seed 0), same CNN; near the class mean, so "
                           "easy to classify: this score checks the class of a sample, not its "
                           "sharpness or variety")),
        "test_negative_elbo_nats": metric(
            -metrics.importance_weighted_bound(model, x_test, k=1, seed=0,
                                               condition=y_test).mean(),
            "negative ELBO on test images (k=1), continuous pixels as Bernoulli means"),
    }


def class_gaussian_samples(x, y, labels, k: int) -> np.ndarray:
    """For each requested label, a draw from a Gaussian fitted to that digit's training images
    in their top-k principal components: a conditional generator with no deep network."""
    rng = np.random.default_rng(0)
    out = np.empty((len(labels), *x.shape[1:]), "float32")
    for digit in np.unique(labels):
        rows = labels == digit
        images = x[y == digit].reshape(int(np.sum(y == digit)), -1)
        pcs = metrics.principal_components(images, k)
        z = rng.normal(size=(int(rows.sum()), k)) * np.sqrt(pcs.variances[:k])
        out[rows] = np.clip(z @ pcs.components.T + pcs.mean, 0, 1).reshape(-1, *x.shape[1:])
    return out


def digit_classifier(x, y) -> keras.Model:
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dropout(0.3), layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, batch_size=128, verbose=0)
    return model


def eval_ecg(model, r: Recipe, data) -> Metrics:
    x, anomaly = data.test["x"], data.test["anomaly"]
    score = model.reconstruction_error(x)
    return {
        "test_auroc": metric(metrics.auroc(score, anomaly), f"AUROC of the reconstruction error, "
                             f"normal vs abnormal beats never seen in training ({len(x)} beats, "
                             f"{int(anomaly.sum())} abnormal)"),
        "test_normal_mse": metric(score[anomaly == 0].mean(), "reconstruction MSE of the "
                                  "held-out normal beats"),
    }


def eval_masked(model, r: Recipe, data) -> Metrics:
    x = data.test["x"]
    return {
        "linear_probe_accuracy": metric(probe(model.encode, data), "logistic regression on "
                                        "encode() of the unmasked images; trained on "
                                        "train[:55000], accuracy on the 10,000 test images",
                                        floor=baseline(probe(raw_pixels, data), "the same "
                                                       "probe on the raw pixels (no encoder)")),
        "test_masked_patch_mse": metric(model.reconstruction_error(x).mean(), "mean squared "
                                        "error on the masked patches (fixed inference mask)"),
    }


def eval_dsprites(model, r: Recipe, data) -> Metrics:
    dataset = data.test["dataset"]
    sample = dataset.sample(10000, seed=2)
    codes = model.encode(sample.images[..., None].astype("float32"))
    mig = metrics.mutual_information_gap(codes, sample.classes[:, 1:])
    score = metrics.beta_vae_score(model, dataset, num_train=BETA_VAE_TRAIN,
                                   num_eval=BETA_VAE_EVAL, seed=0)
    units = metrics.active_units(model, sample.images[:2000, ..., None].astype("float32"))
    factor_vae = metrics.factor_vae_score(model, dataset, num_train=FACTOR_VAE_TRAIN,
                                          num_eval=FACTOR_VAE_EVAL, seed=0)
    held_out = dataset.sample(DCI_EVAL, seed=3)
    held_out_images = held_out.images[..., None].astype("float32")
    dci = metrics.dci_disentanglement(
        codes[:DCI_TRAIN], sample.classes[:DCI_TRAIN, 1:],
        model.encode(held_out_images), held_out.classes[:, 1:])
    floors = dsprites_pca_floors(dataset, sample, held_out, model.latent_dim)
    return {
        "mig": metric(mig, "mutual information gap, 10,000 images (seed 2), 20 bins",
                      split="all", floor=floors["mig"]),
        "beta_vae_score": metric(score["eval_accuracy"], f"Higgins et al. score, batch 64, "
                                 f"{BETA_VAE_TRAIN} train / {BETA_VAE_EVAL} eval points (fewer "
                                 "than disentanglement_lib's 10,000 / 5,000, for CPU time)",
                                 split="all",
                                 floor=floors["beta_vae_score"]),
        "active_units": metric(units["num_active"], "latent dimensions in use (of 10)",
                               split="all"),
        "factor_vae_score": metric(factor_vae["eval_accuracy"], f"Kim and Mnih score, batch 64, "
                                   f"{FACTOR_VAE_TRAIN} train / {FACTOR_VAE_EVAL} eval votes, "
                                   "std over 10,000 images (disentanglement_lib: 10,000 / "
                                   "5,000 votes)", split="all",
                                   floor=floors["factor_vae_score"]),
        "dci_disentanglement": metric(dci["disentanglement"], f"Eastwood and Williams DCI, "
                                      f"gradient-boosted trees on {DCI_TRAIN} codes (seed 2), "
                                      "disentanglement_lib: 10,000", split="all",
                                      floor=floors["dci_disentanglement"]),
        "dci_completeness": metric(dci["completeness"], "DCI completeness, same trees",
                                   split="all"),
        "dci_informativeness": metric(dci["informativeness_eval"], f"mean accuracy of the "
                                      f"trees on {DCI_EVAL} fresh images (seed 3)",
                                      split="all"),
    }


def dsprites_pca_floors(dataset, sample, held_out, k: int) -> dict[str, dict]:
    """The four disentanglement scores, same protocols and seeds, of the top-k principal
    components of the raw pixels (fitted on the 10,000 evaluation images): what a linear
    code with no disentangling objective scores."""
    encode = pca_codes(sample.images.astype("float32"), k)
    codes = encode(sample.images)
    words = f"PCA, top {k} components of the raw pixels of the 10,000 images, same protocol"
    dci = metrics.dci_disentanglement(codes[:DCI_TRAIN], sample.classes[:DCI_TRAIN, 1:],
                                      encode(held_out.images), held_out.classes[:, 1:])
    return {
        "mig": baseline(metrics.mutual_information_gap(codes, sample.classes[:, 1:]), words),
        "beta_vae_score": baseline(metrics.beta_vae_score(
            encode, dataset, num_train=BETA_VAE_TRAIN, num_eval=BETA_VAE_EVAL,
            seed=0)["eval_accuracy"], words),
        "factor_vae_score": baseline(metrics.factor_vae_score(
            encode, dataset, num_train=FACTOR_VAE_TRAIN, num_eval=FACTOR_VAE_EVAL,
            seed=0)["eval_accuracy"], words),
        "dci_disentanglement": baseline(dci["disentanglement"], words),
    }


BETA_VAE_TRAIN, BETA_VAE_EVAL = 1000, 500
FACTOR_VAE_TRAIN, FACTOR_VAE_EVAL = 2000, 1000
DCI_TRAIN, DCI_EVAL = 2000, 1000


def eval_faces(model, r: Recipe, data) -> Metrics:
    x = data.test["x"]
    recon = model.reconstruct(x)
    elbo = metrics.importance_weighted_bound(model, x, k=1, seed=0)
    kl = metrics.kl_per_dimension(model, x)
    units = metrics.active_units(model, x)
    return {
        "test_psnr_db": metric(metrics.psnr(x, recon).mean(), "mean PSNR of reconstructions "
                               "(posterior mean) of the 1,000 identity-disjoint test faces"),
        "test_mse": metric(np.mean((recon - x) ** 2), "mean squared error per pixel value"),
        "test_negative_elbo_nats": metric(-elbo.mean(), "negative ELBO with beta = 1 (k=1 "
                                          "estimate), Gaussian decoder with std 0.25"),
        "test_kl_nats": metric(kl.sum(), "KL(q(z|x) || N(0, I)) summed over dimensions"),
        "active_units": metric(units["num_active"], f"latent dimensions (of {model.latent_dim}) "
                               "whose posterior mean varies, Cov > 0.01"),
    }


def eval_patches(model, r: Recipe, data) -> Metrics:
    """Reconstruction and sparsity, and how edge-like the hidden units are: the median R^2 of a
    2-D Gabor fit (kerasae.metrics.gabor_fit) to each unit, beside the same measure on the
    FastICA and PCA bases of the training patches and on white noise."""
    from sklearn.decomposition import PCA, FastICA

    x, x_train = data.test["x"], data.test["x_train"]
    codes = model.encode(x)
    rho = r.build["rho"]
    units = hidden_unit_picture(model, "hidden_units_natural_patches.png", columns=10)
    ica = FastICA(units.shape[0], whiten="unit-variance", random_state=0, max_iter=1000)
    ica.fit(x_train)
    references = {
        "units": units,
        "ica_basis": ica.mixing_.T,  # the basis images x = A s (Gabor-like in the literature)
        "ica_filters": ica.components_,  # the filters s = W x, comparable to encoder rows
        "pca_basis": PCA(units.shape[0]).fit(x_train).components_,
        "white_noise": np.random.default_rng(0).normal(size=units.shape),
    }
    r2 = {name: float(np.median(metrics.gabor_fit(u.reshape(len(u), 10, 10),
                                                  restarts=GABOR_RESTARTS)))
          for name, u in references.items()}
    for name, value in r2.items():
        print(f"  Gabor fit median R^2, {name}: {value:.3f}", flush=True)
    seed = f"median over the {len(units)} basis images of the R^2 of a least-squares 2-D Gabor " \
        f"fit (kerasae.metrics.gabor_fit, {GABOR_RESTARTS} random restarts, seed 0)"
    return {
        "test_mse": metric(np.mean((model.reconstruct(x) - x) ** 2), "MSE on 10,000 held-out "
                           "patches"),
        "test_variance": metric(x.var(), "variance of the held-out patch pixels (the MSE of "
                                "predicting their mean)"),
        "mean_activation": metric(codes.mean(), f"mean hidden activation (target rho = {rho})"),
        "activation_relative_error": metric(abs(codes.mean() - rho) / rho,
                                            "|mean activation - rho| / rho"),
        "gabor_r2_units": metric(r2["units"], "median over hidden units of the R^2 of a least-"
                                 "squares 2-D Gabor fit to x_j = W_j / norm(W_j) (kerasae.metrics."
                                 f"gabor_fit, {GABOR_RESTARTS} restarts, seed 0); 1 = every "
                                 "unit a perfect Gabor", split="weights"),
        "gabor_r2_ica_basis": metric(r2["ica_basis"], seed + ": FastICA basis (sklearn, "
                                     "random_state 0) of the 20,000 training patches",
                                     split="train"),
        "gabor_r2_ica_filters": metric(r2["ica_filters"], seed + ": FastICA filters (unmixing "
                                       "rows), the same ICA", split="train"),
        "gabor_r2_pca_basis": metric(r2["pca_basis"], seed + ": PCA basis of the training "
                                     "patches", split="train"),
        "gabor_r2_white_noise": metric(r2["white_noise"], seed + ": white noise images (seed 0)",
                                       split="noise"),
    }


GABOR_RESTARTS = 2


# a recipe's `evaluation` names its protocol, and kerasae.presets.EVALUATIONS the metrics the
# protocol writes; these functions measure them
PROTOCOLS: dict[str, Callable] = {
    "reconstruction": eval_reconstruction,
    "linear_probe": eval_probe,
    "pca_agreement": eval_linear,
    "one_class": eval_conv,
    "denoising": eval_denoising,
    "sparsity": eval_sparse,
    "likelihood": eval_vae,
    "conditional_samples": eval_cvae,
    "ecg_anomaly": eval_ecg,
    "masked_probe": eval_masked,
    "disentanglement": eval_dsprites,
    "faces": eval_faces,
    "gabor": eval_patches,
}


def sample_check(model, r: Recipe) -> dict:
    """A figure the test suite recomputes on data shipped with kerasae, on every backend: it
    catches a wrong weights file, a wrong config or a changed preprocessing."""
    x, y = shipped_sample(r.sample)
    kwargs = {"condition": y} if isinstance(model, Conditioned) else {}
    error = model.reconstruction_error(x, **kwargs)
    return {"sample": r.sample, "conditioned_on_labels": bool(kwargs),
            "mean_reconstruction_error": float(f"{float(error.mean()):.8g}")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", choices=sorted(RECIPES), metavar="PRESET")
    parser.add_argument("--weights", type=Path, default=ROOT / "weights")
    parser.add_argument("--dry-run", action="store_true", help="print, do not write the card")
    args = parser.parse_args(argv)
    r = recipe(args.preset)
    folder = args.weights / args.preset
    model = kerasae.load(str(folder))
    start = time.time()
    found = annotate(args.preset, PROTOCOLS[r.evaluation](model, r, r.data()))
    missed = missed_targets(found)
    print(json.dumps(found, indent=2))
    for line in missed:
        print("MISSED:", line)
    if not args.dry_run:
        backend = keras.backend.backend()
        command = f"KERAS_BACKEND={backend} python scripts/evaluate.py {args.preset}"
        # the sampler's measurements come from scripts/fit_samplers.py: keep them
        kept = {k: v for k, v in kerasae.hub.read_metadata(folder)["metrics"].items()
                if k.startswith(SAMPLER_METRIC_PREFIXES)}
        update_metadata(folder, metrics={**found, **kept}, notes=targets_note(found),
                        sample_check=sample_check(model, r),
                        evaluation={"command": command, "seconds": round(time.time() - start, 1)})
        print(f"updated {folder}/metadata.json and README.md")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("KERASAE_DATA_DIR", str(DATA))
    sys.exit(main())
