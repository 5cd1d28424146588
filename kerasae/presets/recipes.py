"""One training recipe per bundled preset: data, architecture, optimiser, epochs, seed, and the
evaluation protocol its card's numbers come from.

`scripts/train.py NAME` runs a recipe and writes weights/NAME; `scripts/evaluate.py NAME`
measures it on held-out data and writes the numbers into its metadata and model card. The data
functions read the datasets through `kerasae.data`'s loaders, so from `$KERASAE_DATA_DIR` (or
each dataset's own variable, e.g. `$KERASAE_MNIST_DIR`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from kerasae._checks import closest
from kerasae.data.images import ImagePreprocessing

MNIST = {
    "name": "mnist",
    "hub_id": "ylecun/mnist",
    "licence": "CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)",
}


@dataclass
class TrainingData:
    """What fit and evaluate need: inputs as `fit` takes them, plus held-out data."""

    train: Any
    validation: Any
    test: dict[str, Any] = field(default_factory=dict)  # arrays, or a dataset object


ADAM_SETTINGS = ("weight_decay", "beta_2", "warmup_epochs")  # beyond plain Adam's


@dataclass(frozen=True)
class Recipe:
    """How a bundled preset was made and measured: `kerasae.build(variant, **build)` trained on
    `data()` (its `dataset`, with `preprocessing`) with these hyperparameters, then measured by
    the evaluation protocol `evaluation` (a key of `EVALUATIONS`)."""

    variant: str
    build: dict[str, Any]
    data: Callable[[], TrainingData]
    dataset: dict[str, Any]
    preprocessing: str
    epochs: int
    evaluation: str
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0
    description: str = ""
    licence: str = "CC BY-SA 3.0, as the MNIST images the weights were trained on"
    licence_id: str = "cc-by-sa-3.0"
    sample: str = "mnist"  # the shipped sample its card's sample check runs on
    optimizer: str = "adam"  # or "lbfgs": full batch (kerasae.presets.lbfgs), epochs = iterations
    # Adam's settings: weight_decay > 0 makes it AdamW (decoupled decay, Loshchilov & Hutter
    # 2019); warmup_epochs ramp the rate linearly from 0 before the cosine decay (the MAE's
    # schedule: a Transformer trained at full rate from the first step learns worse features)
    weight_decay: float = 0.0
    beta_2: float = 0.999
    warmup_epochs: int = 0
    tags: tuple[str, ...] = ()
    # Adam 1e-4 keeps beta_vae_celeba's reconstruction MSE on the first 200 held-out test faces
    # at 0.0111 over 3 epochs (0.0112 before), where 1e-3 takes it to 0.0522; the MNIST presets
    # were trained at a peak of 1e-3 and the same tenth of it is recorded for them
    finetune_learning_rate: float = 1e-4
    center_crop: float = 1.0  # images: the centred crop (fraction of the largest box) it saw
    licence_name: str | None = None  # where licence_id is "other": a name (lower case, dashes)
    licence_link: str | None = None  # and where its terms are
    # a bundled preset whose encoder and decoder weights start the training: a second stage
    # that continues another preset's training under another objective
    init_from: str | None = None
    # what a person saw each row of the card's traversal picture change (scripts/
    # card_pictures.py draws it from these weights; rewrite it when the weights change)
    traversal_notes: str = ""

    def optimizer_settings(self) -> dict[str, Any]:
        """Adam's settings that differ from plain Adam (the fields' defaults; none for most
        recipes), so that what records a recipe only grows where a recipe uses them."""
        defaults = {f.name: f.default for f in dataclasses.fields(self) if f.name in ADAM_SETTINGS}
        return {k: getattr(self, k) for k, v in defaults.items() if getattr(self, k) != v}

    def make_optimizer(self, steps_per_epoch: int, epochs: int) -> keras.optimizers.Optimizer:
        """Adam (AdamW with weight decay) on the recipe's schedule: `warmup_epochs` of linear
        warm-up to `learning_rate`, then cosine decay to 5% of it at the last step."""
        warmup = self.warmup_epochs * steps_per_epoch
        decay = max(1, epochs * steps_per_epoch - warmup)
        if warmup:
            schedule = keras.optimizers.schedules.CosineDecay(
                0.0, decay, alpha=0.05, warmup_target=self.learning_rate, warmup_steps=warmup)
        else:
            schedule = keras.optimizers.schedules.CosineDecay(self.learning_rate, decay,
                                                              alpha=0.05)
        if self.weight_decay:
            return keras.optimizers.AdamW(schedule, weight_decay=self.weight_decay,
                                          beta_2=self.beta_2)
        return keras.optimizers.Adam(schedule, beta_2=self.beta_2)

    def optimizer_description(self) -> str:
        """The optimiser in words, for the preset's training metadata."""
        changed = self.optimizer_settings()
        settings = [f"weight decay {self.weight_decay}"] if "weight_decay" in changed else []
        settings += [f"beta_2 {self.beta_2}"] if "beta_2" in changed else []
        name = ("AdamW" if self.weight_decay else "Adam") + (
            f" ({', '.join(settings)})" if settings else "")
        warmup = (f"{self.warmup_epochs} epoch(s) of linear warm-up, then "
                  if self.warmup_epochs else "")
        return f"{name}, {warmup}cosine decay from {self.learning_rate} to 5% of it"

    def preset_metadata(self, input_shape: tuple[int, ...]) -> dict[str, Any]:
        """The metadata fields of the preset this recipe makes, for a model with `input_shape`
        (one example): scripts/train.py writes them, scripts/refresh_cards.py brings older cards
        up to them."""
        fields: dict[str, Any] = {
            "description": self.description, "dataset": self.dataset,
            "preprocessing": self.preprocessing, "licence": self.licence,
            "licence_id": self.licence_id, "tags": list(self.tags),
            "finetune": {"learning_rate": self.finetune_learning_rate, "optimizer": "Adam"},
        }
        if self.licence_name:
            fields["licence_name"], fields["licence_link"] = self.licence_name, self.licence_link
        try:
            spec = ImagePreprocessing.from_metadata({"input_spec": {"shape": list(input_shape)}})
        except ValueError:  # not an image preset (heartbeats, flattened patches)
            return fields
        fields["image_preprocessing"] = ImagePreprocessing(
            spec.height, spec.width, spec.channels,
            center_crop=round(self.center_crop, 6)).to_metadata()
        return fields


@dataclass(frozen=True)
class Evaluation:
    """An evaluation protocol of scripts/evaluate.py: the metrics it writes into a preset's
    metadata and model card, and what it measures them on."""

    metrics: tuple[str, ...]
    protocol: str


EVALUATIONS: dict[str, Evaluation] = {
    "reconstruction": Evaluation(
        ("test_mse", "test_psnr_db"),
        "reconstruction error and PSNR on the held-out test images"),
    "linear_probe": Evaluation(
        ("test_mse", "test_psnr_db", "linear_probe_accuracy"),
        "reconstruction on the test images; a logistic regression on the codes of the training "
        "images, its accuracy on the codes of the test images"),
    "pca_agreement": Evaluation(
        ("test_mse", "pca_test_mse", "relative_gap_to_pca", "max_principal_angle_deg"),
        "test error against PCA with as many components as the code (fitted on the training "
        "images), and the principal angles between the decoder's columns and the PCA subspace"),
    "one_class": Evaluation(
        ("test_mse", "test_psnr_db", "one_class_mean_auroc"),
        "reconstruction; then, per digit, a small conv autoencoder trained on that digit alone "
        "with the protocol of Ruff et al. 2018 (contrast-normalised, min-max scaled per class; "
        "their DCAE's architecture and epochs) and its test AUROC with every other digit as "
        "the anomaly"),
    "denoising": Evaluation(
        ("test_mse", "test_psnr_db", "denoised_psnr_db", "noisy_psnr_db"),
        "PSNR of the test images denoised from Gaussian noise, sigma 0.5 clipped to [0, 1]"),
    "sparsity": Evaluation(
        ("test_mse", "test_psnr_db", "mean_activation", "activation_relative_error",
         "constant_pixel_weight_share"),
        "reconstruction, the mean code activation against the target rho, and the hidden "
        "units' weight on pixels that never vary"),
    "likelihood": Evaluation(
        ("test_nll_nats", "test_negative_elbo_nats", "active_units"),
        "importance-weighted bound (k=1000) on the binarised test images, the ELBO, and the "
        "active latent dimensions"),
    "conditional_samples": Evaluation(
        ("conditional_sample_accuracy", "test_negative_elbo_nats"),
        "1,000 samples conditioned on each digit, classified by a CNN trained on MNIST; the "
        "test ELBO"),
    "ecg_anomaly": Evaluation(
        ("test_auroc", "test_normal_mse"),
        "AUROC of the reconstruction error, held-out normal beats against abnormal beats"),
    "masked_probe": Evaluation(
        ("linear_probe_accuracy", "test_masked_patch_mse"),
        "a logistic regression on encode() of the unmasked images; error on masked patches"),
    "disentanglement": Evaluation(
        ("mig", "beta_vae_score", "active_units", "factor_vae_score", "dci_disentanglement",
         "dci_completeness", "dci_informativeness"),
        "MIG, the beta-VAE and FactorVAE scores and DCI on dSprites, disentanglement_lib's "
        "protocols with fewer points"),
    "faces": Evaluation(
        ("test_psnr_db", "test_mse", "test_negative_elbo_nats", "test_kl_nats", "active_units"),
        "reconstruction, ELBO and KL on the 1,000 identity-disjoint test faces"),
    "gabor": Evaluation(
        ("test_mse", "test_variance", "mean_activation", "activation_relative_error",
         "gabor_r2_units", "gabor_r2_ica_basis", "gabor_r2_ica_filters", "gabor_r2_pca_basis",
         "gabor_r2_white_noise"),
        "reconstruction and sparsity on held-out patches, and how well 2-D Gabors fit the "
        "hidden units, beside FastICA, PCA and white noise"),
}


# ----- data ------------------------------------------------------------------------------


def _mnist() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    from kerasae.data import load_mnist

    return load_mnist()


def mnist_images() -> TrainingData:
    """Train on train[:55000], validate on train[55000:], report on the 10,000 test images."""
    (x, y), (x_test, y_test) = _mnist()
    return TrainingData(train=x[:55000], validation=x[55000:],
                        test={"x": x_test, "y": y_test, "x_train": x[:55000], "y_train": y[:55000]})


def mnist_first_5k() -> TrainingData:
    """Full-batch training on 5,000 images (train[:5000]; UFLDL's MNIST exercise takes 10,000,
    halved for CPU time); validate on train[55000:], report on the 10,000 test images."""
    (x, y), (x_test, y_test) = _mnist()
    return TrainingData(train=x[:5000], validation=x[55000:],
                        test={"x": x_test, "y": y_test, "x_train": x[:5000]})


def mnist_with_labels() -> TrainingData:
    (x, y), (x_test, y_test) = _mnist()
    return TrainingData(train=[x[:55000], y[:55000]], validation=[x[55000:], y[55000:]],
                        test={"x": x_test, "y": y_test})


class DynamicBinarization(keras.utils.PyDataset):
    """Re-draws the Bernoulli binarisation of MNIST at every epoch, the standard regulariser
    for likelihood benchmarks on binarised MNIST."""

    def __init__(self, x: np.ndarray, batch_size: int, seed: int = 0):
        super().__init__()
        self.x, self.batch_size = x, batch_size
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(x))

    def __len__(self) -> int:
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, index: int) -> np.ndarray:
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        probabilities = self.x[rows]
        return (self.rng.random(probabilities.shape) < probabilities).astype("float32")

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.x))


def binarized_mnist() -> TrainingData:
    from kerasae.data import load_mnist

    (x, _), (x_test, y_test) = load_mnist()
    rng = np.random.default_rng(1)  # fixed binarisation of the held-out images
    fixed = lambda a: (rng.random(a.shape) < a).astype("float32")  # noqa: E731
    validation = fixed(x[55000:])
    return TrainingData(
        train=DynamicBinarization(x[:55000], batch_size=100, seed=0),
        validation=validation,
        test={"x": fixed(x_test), "y": y_test},
    )


def ecg5000_normal_beats() -> TrainingData:
    """Train on normal beats only; the held-out test set mixes unseen normal and abnormal beats
    (kerasae.data.ecg5000_anomaly_split, 20% of normal beats held out, seed 0)."""
    from kerasae.data import as_sequences, ecg5000_anomaly_split, load_ecg5000

    x, y = load_ecg5000()
    split = ecg5000_anomaly_split(x, y, test_fraction=0.2, seed=0)
    train = as_sequences(split.x_train).astype("float32")
    return TrainingData(train=train[20:], validation=train[:20],
                        test={"x": as_sequences(split.x_test).astype("float32"),
                              "anomaly": split.y_test})


def dsprites_stream() -> TrainingData:
    """dSprites rendered on demand by kerasae.data.DSprites: 1,000 shuffled batches of 64 per
    epoch, never the whole 737,280-image set in memory."""
    from kerasae.data import DSprites

    data = DSprites()
    held_out = data.sample(2000, seed=1)
    return TrainingData(train=data.batches(batch_size=64, seed=0, steps_per_epoch=1000),
                        validation=held_out.images[..., None].astype("float32") / 1.0,
                        test={"dataset": data})


def celeba_faces() -> TrainingData:
    """The 8,995 CelebA training faces shuffled once (seed 0); the last 500 of them monitor
    training; the 1,000 identity-disjoint test faces are only for evaluate.py."""
    from kerasae.data import load_celeba64

    (x, _), (x_test, id_test) = load_celeba64()
    x = x[np.random.default_rng(0).permutation(len(x))]
    return TrainingData(train=x[:-500], validation=x[-500:],
                        test={"x": x_test, "identity": id_test})


def natural_patches() -> TrainingData:
    """Random 10 x 10 patches of the 13 natural images, whitened as Olshausen and Field did
    (kerasae.data.whiten_images: the 1/f spectrum flattened, roll-off at 0.4 cycles/pixel),
    then UFLDL-normalised into [0.1, 0.9] (remove each patch's mean, clip at 3 std, rescale)
    and flattened to 100 values: 20,000 to train on (full batch), 10,000 held out."""
    from kerasae.data import load_natural_images, sample_patches, ufldl_normalize, whiten_images

    images = whiten_images(load_natural_images())
    patches = ufldl_normalize(sample_patches(images, PATCHES_TRAIN + 10000, 10, seed=0))
    patches = patches.reshape(len(patches), 100).astype("float32")
    return TrainingData(train=patches[:PATCHES_TRAIN], validation=patches[PATCHES_TRAIN:],
                        test={"x": patches[PATCHES_TRAIN:], "x_train": patches[:PATCHES_TRAIN]})


PATCHES_TRAIN = 20000


DSPRITES = {
    "name": "dsprites",
    "hub_id": "deepmind/dsprites",
    "licence": "Apache-2.0 (dSprites, Matthey et al. 2017), regenerated by kerasae.data.DSprites",
}
NATURAL_IMAGES = {
    "name": "natural_images_hyvarinen",
    "licence": "research and educational use with citation of Hyvarinen, Hurri and Hoyer, "
    "Natural Image Statistics (Springer 2009)",
}

CELEBA = {
    "name": "celeba64",
    "hub_id": "celeba (CUHK MMLAB)",
    "licence": "CelebA (Liu et al., ICCV 2015): non-commercial research purposes only",
}

ECG5000 = {
    "name": "ecg5000",
    "hub_id": "ucr/ECG5000",
    "licence": "UCR Time Series Classification Archive, free for research with citation "
    "(Dau et al. 2019; Chen et al. 2015); from PhysioNet BIDMC CHF record chf07",
}


# ----- the zoo ---------------------------------------------------------------------------

IMAGE = {"input_shape": (28, 28, 1)}
MNIST_PREPROCESSING = "pixels / 255 as float32, shape (N, 28, 28, 1), values in [0, 1]"

# vae_mnist's network and data, which iwae_mnist continues to train
BINARISED_MNIST_NET = {**IMAGE, "latent_dim": 32, "architecture": "dense",
                       "hidden_units": (512, 256), "likelihood": "bernoulli"}
BINARISED_MNIST_DATA: dict[str, Any] = {
    "data": binarized_mnist,
    "dataset": {**MNIST, "split": "train[:55000], dynamically binarised"},
    "preprocessing": "pixels / 255, then binarised by Bernoulli sampling (x > U(0, 1)); "
    "shape (N, 28, 28, 1)",
}

RECIPES: dict[str, Recipe] = {
    "ae_mnist": Recipe(
        variant="ae", evaluation="reconstruction",
        build={**IMAGE, "latent_dim": 32, "architecture": "dense", "hidden_units": (256,),
               "reconstruction_loss": "bce"},
        data=mnist_images, dataset={**MNIST, "split": "train[:55000]"},
        preprocessing=MNIST_PREPROCESSING, epochs=30,
        description="Undercomplete dense autoencoder, 784-256-32-256-784, ReLU, sigmoid output.",
    ),
    "linear_ae_mnist": Recipe(
        variant="linear_ae", evaluation="pca_agreement",
        build={**IMAGE, "latent_dim": 32},
        data=mnist_images, dataset={**MNIST, "split": "train[:55000]"},
        preprocessing=MNIST_PREPROCESSING, epochs=60, batch_size=256, learning_rate=3e-3,
        description="Linear autoencoder with a 32-dimensional code: no nonlinearity, squared "
        "error. Its optimum spans the top-32 PCA subspace of the training images.",
    ),
    "deep_ae_mnist": Recipe(
        variant="deep_ae", evaluation="linear_probe",
        build={**IMAGE, "latent_dim": 32, "hidden_units": (512, 256, 128),
               "reconstruction_loss": "bce"},
        data=mnist_images, dataset={**MNIST, "split": "train[:55000]"},
        preprocessing=MNIST_PREPROCESSING, epochs=30,
        description="Deep symmetric dense autoencoder 784-512-256-128-32, mirrored decoder.",
    ),
    "conv_ae_mnist": Recipe(
        variant="conv_ae", evaluation="one_class",
        build={**IMAGE, "latent_dim": 32, "filters": (32, 64), "reconstruction_loss": "bce"},
        data=mnist_images, dataset={**MNIST, "split": "train[:55000]"},
        preprocessing=MNIST_PREPROCESSING, epochs=20,
        description="Convolutional autoencoder: two stride-2 convolutions (32, 64 filters), a "
        "32-dimensional code, transposed convolutions back.",
    ),
    "denoising_ae_mnist": Recipe(
        variant="denoising_ae", evaluation="denoising",
        build={**IMAGE, "latent_dim": 64, "architecture": "conv", "filters": (64, 128),
               "noise": "gaussian", "noise_level": 0.5, "seed": 0, "reconstruction_loss": "bce"},
        data=mnist_images, dataset={**MNIST, "split": "train[:55000]"},
        preprocessing=MNIST_PREPROCESSING, epochs=30,
        description="Convolutional denoising autoencoder (stride-2 convolutions of 64 and 128 "
        "filters, a 64-dimensional code) trained on Gaussian noise of standard deviation 0.5 "
        "clipped to [0, 1]; reconstructs the clean digit. It replaced a 32-64 net trained 20 "
        "epochs (20.66 dB on the noisy test digits, by scripts/evaluate.py at the time).",
    ),
    "sparse_ae_mnist": Recipe(
        variant="sparse_ae", evaluation="sparsity",
        build={**IMAGE, "latent_dim": 196, "architecture": "dense", "hidden_units": (),
               "sparsity": "kl", "rho": 0.1, "beta": 3 * 2 / 784, "weight_decay": 3e-3 * 2 / 784,
               "reconstruction_loss": "mse", "output_activation": "sigmoid"},
        data=mnist_first_5k, dataset={**MNIST, "split": "train[:5000]"},
        preprocessing=MNIST_PREPROCESSING, epochs=300, optimizer="lbfgs",
        description="Single-layer sparse autoencoder with the recipe of UFLDL's MNIST exercise: "
        "196 sigmoid hidden units, a sigmoid decoder with squared error, KL sparsity "
        "(rho = 0.1, beta = 3) and weight decay (lambda = 3e-3) in the notes' units, full-batch "
        "L-BFGS (300 iterations) on 5,000 training images. kerasae's squared error is a "
        "mean over the 784 pixels, not the notes' half sum, so beta and weight_decay here are "
        "the notes' values times 2/784. Weight decay keeps the weights of border pixels "
        "that never vary near 0. The 196 hidden units' preferred inputs (pictured in "
        "docs/demo/hidden_units_mnist.png) are pen strokes and digit parts (bars, arcs, loops) "
        "on a flat background; the earlier preset (cross-entropy, Adam, no weight decay) put "
        "a median 6.7% of each unit's squared weight on pixels that never vary, this one "
        "about 0. Its reconstructions are blurrier than that preset's (test MSE 0.0196 "
        "against 0.0126): sparse stroke detectors keep less detail.",
    ),
    "contractive_ae_mnist": Recipe(
        variant="contractive_ae", evaluation="linear_probe",
        build={**IMAGE, "latent_dim": 64, "architecture": "dense", "hidden_units": (),
               "contractive_weight": 0.01, "reconstruction_loss": "bce"},
        data=mnist_images, dataset={**MNIST, "split": "train[:55000]"},
        preprocessing=MNIST_PREPROCESSING, epochs=20,
        description="Contractive autoencoder, 64 sigmoid hidden units, penalty 0.01 times the "
        "squared Frobenius norm of the encoder Jacobian.",
    ),
    "vae_mnist": Recipe(
        variant="vae", evaluation="likelihood",
        build={**BINARISED_MNIST_NET, "kl_warmup_steps": 10000, "seed": 0},
        **BINARISED_MNIST_DATA, epochs=300, batch_size=100, learning_rate=1e-3,
        description="VAE with a Bernoulli decoder (logits), 32-dimensional Gaussian latent, dense "
        "784-512-256 encoder and mirrored decoder, trained on dynamically binarised MNIST with "
        "a linear KL warm-up over the first 10,000 steps. iwae_mnist continues this training "
        "on the importance-weighted bound.",
    ),
    "iwae_mnist": Recipe(
        variant="iwae", evaluation="likelihood",
        build={**BINARISED_MNIST_NET, "importance_samples": 50, "seed": 0},
        **BINARISED_MNIST_DATA, init_from="vae_mnist", epochs=80, batch_size=100,
        learning_rate=3e-4,
        description="Importance-weighted autoencoder (Burda et al. 2016): the vae_mnist network "
        "(dense 784-512-256 encoder, 32-dimensional Gaussian latent, mirrored Bernoulli "
        "decoder), started from vae_mnist's weights and trained further on the k = 50 "
        "importance-weighted bound, a tighter bound on log p(x) than the ELBO.",
    ),
    "cvae_mnist": Recipe(
        variant="cvae", evaluation="conditional_samples",
        build={**IMAGE, "latent_dim": 8, "num_classes": 10, "architecture": "dense",
               "hidden_units": (512, 256), "seed": 0},
        data=mnist_with_labels, dataset={**MNIST, "split": "train[:55000] with labels"},
        preprocessing=MNIST_PREPROCESSING + "; condition: integer digit label 0-9",
        epochs=50, batch_size=100,
        description="Conditional VAE: encoder and decoder see the one-hot digit label; "
        "sample(n, condition=digit) draws that digit. An 8-dimensional latent for the style "
        "(the earlier 16-dimensional one used 14 dimensions, and its prior samples fell more "
        "often between styles: 0.957 of them classified as the requested digit).",
    ),
    "lstm_ae_ecg5000": Recipe(
        variant="lstm_ae", evaluation="ecg_anomaly",
        build={"input_shape": (140, 1), "latent_dim": 16, "units": (64,)},
        data=ecg5000_normal_beats,
        dataset={**ECG5000, "split": "train split, normal beats (class 1) only, 80%"},
        preprocessing="the UCR beats as published (each z-normalised), shape (N, 140, 1)",
        epochs=150, batch_size=32, learning_rate=2e-3, sample="ecg5000",
        licence="research use with citation, as the ECG5000 data (UCR archive)",
        licence_id="other", licence_name="ucr-archive-research-with-citation",
        licence_link="https://www.cs.ucr.edu/~eamonn/time_series_data_2018/",
        description="LSTM sequence autoencoder for 140-step heartbeats: LSTM(64) encoder, "
        "16-dimensional code, repeated code into LSTM(64) and a per-step linear read-out. "
        "Trained on normal beats only; its reconstruction error scores anomalies.",
    ),
    "masked_ae_mnist": Recipe(
        variant="masked_ae", evaluation="masked_probe",
        build={**IMAGE, "latent_dim": 64, "patch_size": 4, "mask_ratio": 0.75, "embed_dim": 64,
               "depth": 4, "num_heads": 4, "decoder_embed_dim": 32, "decoder_depth": 2,
               "seed": 0},
        data=mnist_images, dataset={**MNIST, "split": "train[:55000]"},
        preprocessing=MNIST_PREPROCESSING, epochs=40, batch_size=256, learning_rate=1e-3,
        # the MAE's optimiser (AdamW, weight decay 0.05, beta_2 0.95, warm-up); the card's
        # probe is measured by scripts/evaluate.py
        weight_decay=0.05, beta_2=0.95, warmup_epochs=2,
        description="Masked autoencoder (He et al. 2021): 4 x 4 patches, 75% masked per "
        "example, a 4-block ViT encoder (width 64) on the visible patches, a 2-block decoder "
        "(width 32) with a learned mask token; loss on the masked patches only. encode() gives "
        "the mean of the 64-dimensional code tokens of the whole image.",
    ),
    "beta_vae_dsprites": Recipe(
        variant="beta_vae", evaluation="disentanglement",
        build={"input_shape": (64, 64, 1), "latent_dim": 10, "beta": 16.0,
               "architecture": "conv", "filters": (32, 32, 64, 64),
               "likelihood": "bernoulli", "seed": 0},
        data=dsprites_stream, dataset={**DSPRITES, "split": "all 737,280 images, streamed"},
        preprocessing="binary 64 x 64 sprites as float32 {0, 1}, shape (N, 64, 64, 1)",
        epochs=15, batch_size=64, learning_rate=5e-4, sample="dsprites",
        licence="Apache-2.0", licence_id="apache-2.0",
        traversal_notes="z0 moves the sprite from the top to the bottom while shrinking it to "
        "nothing and growing it again (vertical position and scale mixed); z8 and z4 move it "
        "horizontally (z8 in from the right, z4 in from the left), changing its size too; z7 "
        "mostly grows it; z6, z9, z1 and z3 change nothing (inactive). No dimension changes "
        "the shape or the orientation: every reconstruction is a round blob.",
        description="beta-VAE (beta = 16) on dSprites: four stride-2 convolutions "
        "(32, 32, 64, 64), 10-dimensional Gaussian latent, Bernoulli decoder, as in Higgins "
        "et al. (2017) but trained for far fewer steps (15,000 x 64 images) on a CPU. A first "
        "run with beta = 4 kept all 10 dimensions active and reached MIG 0.03 and a beta-VAE "
        "score of 0.65; beta = 16, the top of disentanglement_lib's sweep (1 to 16), presses "
        "harder on the KL and so prunes unused dimensions.",
    ),
    "beta_tcvae_dsprites": Recipe(
        variant="beta_tcvae", evaluation="disentanglement",
        build={"input_shape": (64, 64, 1), "latent_dim": 10, "beta": 6.0, "alpha": 1.0,
               "gamma": 1.0, "dataset_size": 737280, "architecture": "conv",
               "filters": (32, 32, 64, 64), "likelihood": "bernoulli",
               "seed": 0},
        data=dsprites_stream, dataset={**DSPRITES, "split": "all 737,280 images, streamed"},
        preprocessing="binary 64 x 64 sprites as float32 {0, 1}, shape (N, 64, 64, 1)",
        epochs=15, batch_size=64, learning_rate=5e-4, sample="dsprites",
        licence="Apache-2.0", licence_id="apache-2.0",
        description="beta-TC-VAE (Chen et al. 2018; total-correlation weight beta = 6, MI and "
        "dimension-wise KL weights 1, minibatch-weighted sampling over the 737,280 images) on "
        "dSprites with the architecture of beta_vae_dsprites and disentanglement_lib: four "
        "stride-2 convolutions (32, 32, 64, 64), dense 256, 10-dimensional Gaussian latent, "
        "Bernoulli decoder, batch 64, for 15,000 steps on a CPU (disentanglement_lib "
        "trains 300,000 with Adam 1e-4; 20 times fewer steps take Adam 5e-4 with cosine "
        "decay, as beta_vae_dsprites).",
    ),
    "beta_vae_celeba": Recipe(
        variant="beta_vae", evaluation="faces",
        build={"input_shape": (64, 64, 3), "latent_dim": 32, "beta": 4.0,
               "architecture": "conv", "filters": (32, 32, 64, 64),
               "likelihood": "gaussian", "observation_std": 0.25, "seed": 0},
        data=celeba_faces, dataset={**CELEBA, "split": "8,495 of the 8,995 training faces "
                                    "(the subset's identity-disjoint train split)"},
        preprocessing="RGB pixels / 255 as float32, shape (N, 64, 64, 3), values in [0, 1] "
        "(centre crop 148 of the aligned faces, resized to 64, as the dataset README says)",
        epochs=60, batch_size=64, learning_rate=5e-4, sample="faces",
        licence="non-commercial research only, as the CelebA images the weights were trained "
        "on (Liu et al., ICCV 2015)", licence_id="other",
        licence_name="celeba-non-commercial-research",
        licence_link="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
        center_crop=148 / 178,  # CelebA's protocol: a centred 148-pixel square of 178 x 218
        traversal_notes="z2 darkens skin and hair together (fair to dark); z19 takes the hair "
        "from long, fair and swept to one side to short and dark; z21 lights the forehead and "
        "the top of the head; z25 turns the skin from pale to orange-tan and the background "
        "bluer; z18 takes the face from brightly lit to shaded; z10 changes the hair from "
        "blond to dark brown. z9 and z29 change little: the hair's width at the sides, and "
        "the contrast.",
        description="beta-VAE (beta = 4) on 64 x 64 CelebA faces: four stride-2 convolutions "
        "(32, 32, 64, 64), a 32-dimensional Gaussian latent and a Gaussian decoder with fixed "
        "observation std 0.25. Trained on a 9,995-image subset of CelebA, not the full set, "
        "so its reconstructions and samples are blurry; its traversals change hair colour, "
        "background, lighting and skin tone. Draw faces with sampler=\"gmm\": of the 32 "
        "prior samples in the card's pictures a person recognised about 8 as faces, of the 32 "
        "GMM samples all 32 (its codes do not fill the N(0, I) prior, whose samples fall "
        "between faces).",
    ),
    "sparse_ae_natural_patches": Recipe(
        variant="sparse_ae", evaluation="gabor",
        build={"input_shape": (100,), "latent_dim": 100, "hidden_units": (), "sparsity": "kl",
               "rho": 0.01, "beta": 0.06, "weight_decay": 2e-6, "reconstruction_loss": "mse",
               "output_activation": "sigmoid"},
        data=natural_patches,
        dataset={**NATURAL_IMAGES, "split": "20,000 random 10 x 10 patches (seed 0) to train, "
                 "10,000 more held out"},
        preprocessing="images whitened (kerasae.data.whiten_images: R(f) = f exp(-(f/0.4)^4)), "
        "10 x 10 patches, each patch's mean removed, clipped at 3 std, scaled to [0.1, 0.9] "
        "(kerasae.data.ufldl_normalize), flattened to 100 values",
        epochs=400, optimizer="lbfgs", sample="gratings",
        licence="research and educational use, as the images", licence_id="other",
        licence_name="natural-image-statistics-research-with-citation",
        licence_link="https://www.naturalimagestatistics.net/",
        description="The seed lecture's sparse autoencoder on natural-image patches, with the "
        "classic recipe of Ng's sparse autoencoder notes: 100 sigmoid hidden units, a sigmoid "
        "decoder with squared error, KL sparsity (rho = 0.01, beta = 3 in the notes' units), "
        "weight decay (lambda = 1e-4 in the notes' units) and full-batch L-BFGS. kerasae's "
        "squared error is a mean over the 100 pixels, not the notes' half sum, so beta and "
        "weight_decay here are the notes' values times 2/100 (0.06 and 2e-6): the same "
        "objective up to a constant factor. Its hidden units' preferred inputs "
        "(kerasae.apps.pictures.hidden_unit_inputs, pictured in "
        "docs/demo/hidden_units_natural_patches.png) are mostly localised, oriented bars and "
        "edges at many orientations, some curved, a few blob-like or still noisy; they are "
        "longer and less clean than the small Gabors of ICA (see the gabor_r2 metrics). The "
        "price of rho = 0.01 is reconstruction: the held-out MSE is about two thirds of the "
        "pixel variance. The earlier preset (unwhitened patches, cross-entropy, Adam, no "
        "weight decay) had noise-like units, median Gabor R^2 0.40.",
    ),
}


def recipe(name: str) -> Recipe:
    """The recipe of bundled preset `name`; ValueError naming the known ones otherwise."""
    if name not in RECIPES:
        raise ValueError(f"no recipe for preset {name!r}; expected one of {sorted(RECIPES)}."
                         f"{closest(str(name), RECIPES)}")
    return RECIPES[name]
