"""The README's main job: load bundled presets, write a gallery of pictures and a metrics summary.

Runs offline in about a minute on 2 CPU cores: only the samples shipped inside kerasae are used
(MNIST digits, rendered dSprites), and every model comes from the bundled `weights/`. Each step
below is one application of kerasae.apps and adds its numbers to metrics.json.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from kerasae._atomic import atomic_file
from kerasae.apps import (
    AnomalyDetector,
    LatentIndex,
    compression_report,
    denoise,
    informative_dims,
    interpolate,
    pictures,
    sample,
    traverse,
)
from kerasae.data import binarize, load_mnist_sample, shipped_sample
from kerasae.hub import list_models, load
from kerasae.metrics import importance_weighted_bound, psnr

GALLERY = ("conv_ae_mnist", "denoising_ae_mnist", "vae_mnist", "cvae_mnist", "ae_mnist",
           "sparse_ae_mnist", "sparse_ae_natural_patches", "beta_vae_dsprites")


class Demo:
    """Shared state of one demo run: the output folder, the MNIST sample, loaded presets."""

    def __init__(self, out: Path):
        self.out = out
        (self.x_train, self.y_train), (self.x, self.y) = load_mnist_sample()
        self._models: dict = {}

    def model(self, name: str):
        if name not in self._models:
            self._models[name] = load(name, compile=False)
        return self._models[name]

    def path(self, name: str) -> Path:
        return self.out / name


def reconstruction(demo: Demo) -> dict:
    conv = demo.model("conv_ae_mnist")
    pictures.reconstruction_grid(conv, demo.x, demo.path("reconstructions.png"), n=12)
    return {"conv_ae_mnist_psnr_db": float(psnr(demo.x, conv.reconstruct(demo.x)).mean())}


def denoising(demo: Demo) -> dict:
    rng = np.random.default_rng(0)
    noisy = np.clip(demo.x + rng.normal(0, 0.5, demo.x.shape), 0, 1).astype("float32")
    clean = denoise(demo.model("denoising_ae_mnist"), noisy)
    pictures.image_rows([demo.x[:12], noisy[:12], clean[:12]], demo.path("denoising.png"),
                        titles=["clean", "noisy (sigma 0.5)", "denoising_ae_mnist"])
    return {"denoising_noisy_psnr_db": float(psnr(demo.x, noisy).mean()),
            "denoising_denoised_psnr_db": float(psnr(demo.x, clean).mean())}


def compression(demo: Demo) -> dict:
    found = {}
    for bits in (8, 4):
        report = compression_report(demo.model("conv_ae_mnist"), demo.x, bits=bits)
        found[f"compression_{bits}bit_ratio_vs_uint8"] = report["ratio_vs_uint8"]
        found[f"compression_{bits}bit_psnr_db"] = report["psnr_db"]
    return found


def generation(demo: Demo) -> dict:
    vae = demo.model("vae_mnist")
    pictures.image_rows([sample(vae, 12, seed=s) for s in range(3)],
                        demo.path("vae_samples.png"), titles=["vae_mnist samples", "", ""])
    cvae = demo.model("cvae_mnist")
    rows = [sample(cvae, 10, seed=digit, condition=digit) for digit in range(10)]
    pictures.image_rows(rows, demo.path("cvae_digits.png"),
                        titles=[f"digit {d}" for d in range(10)])
    a, b = demo.x[demo.y == 3][0], demo.x[demo.y == 8][0]
    pictures.image_rows([interpolate(vae, a, b, steps=10, method=m) for m in ("linear", "slerp")],
                        demo.path("interpolation.png"),
                        titles=["vae_mnist: linear interpolation 3 -> 8", "spherical (slerp)"])
    bound = importance_weighted_bound(vae, binarize(demo.x[:200], seed=1), k=100, seed=0)
    return {"vae_mnist_nll_nats_k100_200_digits": float(-bound.mean())}


def traversal(demo: Demo) -> dict:
    model = demo.model("beta_vae_dsprites")
    sprites, _ = shipped_sample("dsprites")
    dims = informative_dims(model, sprites)[:6]
    grid = traverse(model, sprites[5], dims=dims, values=2.5)
    pictures.traversal_grid(grid, demo.path("traversal.png"),
                            row_labels=[f"z{d}" for d in dims])
    return {}


def latent_space(demo: Demo) -> dict:
    vae = demo.model("vae_mnist")
    pictures.latent_map(vae.encode(demo.x), demo.y, demo.path("latent_map.png"),
                        title="vae_mnist codes of 500 test digits")
    index = LatentIndex(demo.model("conv_ae_mnist"))
    index.add(demo.x_train)
    ids, _ = index.search(demo.x, k=5)
    neighbours = demo.y_train[ids]
    queries = demo.x[:6]
    rows = [np.concatenate([q[None], demo.x_train[ids[i]]]) for i, q in enumerate(queries)]
    pictures.sample_grid(np.concatenate(rows), demo.path("retrieval.png"), columns=6,
                         title="query, then its 5 nearest (cosine)")
    return {"retrieval_top1_same_label": float(np.mean(neighbours[:, 0] == demo.y)),
            "retrieval_top5_same_label": float(np.mean(neighbours == demo.y[:, None]))}


def anomalies(demo: Demo) -> dict:
    """Digits are normal; the 16 shipped Olivetti faces, shrunk to 28 x 28, are anomalies."""
    faces, _ = shipped_sample("faces")
    faces = np.stack([np.asarray(Image.fromarray(face[..., 0]).resize((28, 28)))
                      for face in faces])[..., None]
    detector = AnomalyDetector(demo.model("conv_ae_mnist"), contamination=0.05)
    detector.fit(demo.x_train)
    x = np.concatenate([demo.x[:100], faces])
    labels = np.r_[np.zeros(100), np.ones(len(faces))]
    report = detector.report(x, labels)
    order = np.argsort(-detector.score(x))
    pictures.image_rows([x[order[:10]], x[order[-10:]]], demo.path("anomalies.png"),
                        titles=["highest reconstruction error", "lowest"])
    return {f"anomaly_{k}": v for k, v in report.items()
            if k in ("auroc", "precision", "recall")}


def hidden_units(demo: Demo) -> dict:
    units = pictures.hidden_unit_inputs(demo.model("sparse_ae_mnist"))
    pictures.unit_grid(units[:50], demo.path("hidden_units.png"), columns=10)
    patches = pictures.hidden_unit_inputs(demo.model("sparse_ae_natural_patches"))
    pictures.unit_grid(patches.reshape(len(patches), 10, 10),
                       demo.path("hidden_units_natural_patches.png"), columns=10)
    return {}


def fine_tuning(demo: Demo) -> dict:
    """Fine-tune ae_mnist for three short epochs on the shipped digits: its curves."""
    model = demo.model("ae_mnist")
    model.compile(optimizer=keras.optimizers.Adam(1e-4))
    history = model.fit(demo.x_train, validation_data=(demo.x,), epochs=3, batch_size=100,
                        verbose=0)
    pictures.training_curves(history, demo.path("training_curves.png"))
    return {"fine_tuned_ae_mnist_val_loss": float(history.history["val_loss"][-1])}


STEPS: tuple[tuple[str, Callable[[Demo], dict]], ...] = (
    ("conv_ae_mnist: reconstructions of test digits", reconstruction),
    ("denoising_ae_mnist: removing Gaussian noise (sigma 0.5)", denoising),
    ("conv_ae_mnist: compressing codes to 8 and 4 bits", compression),
    ("vae_mnist and cvae_mnist: samples, interpolation, likelihood", generation),
    ("beta_vae_dsprites: latent traversal", traversal),
    ("vae_mnist latent map; conv_ae_mnist retrieval by cosine similarity", latent_space),
    ("conv_ae_mnist: anomaly detection (digits normal, faces anomalous)", anomalies),
    ("sparse_ae_mnist and sparse_ae_natural_patches: what hidden units respond to",
     hidden_units),
    ("ae_mnist: fine-tuning on the shipped digits", fine_tuning),
)


class _NoRetracingNotice(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls to ... triggered tf.function retracing".

    Its detector counts traces per code object, and every Keras model's predict function is
    a closure of the same code (`one_step_on_data_distributed`): the first trace of each of a
    preset's endpoint models (encode, decode, reconstruct, reconstruction_error; one more for
    a last, smaller batch) adds up to "retracing" though no function is traced twice for the
    same shapes. Other TensorFlow messages pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def hide_retracing_notices() -> None:
    """Install the filter on TensorFlow's logger (once)."""
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NoRetracingNotice) for f in logger.filters):
        logger.addFilter(_NoRetracingNotice())


def run_demo(out: str | Path, log=print) -> dict:
    """Write `<out>/*.png` and `<out>/metrics.json`; returns the metrics."""
    out = Path(out)
    missing = [name for name in GALLERY if name not in set(list_models())]
    if missing:
        raise FileNotFoundError(f"bundled presets {missing} are missing from this "
                                "installation.")
    hide_retracing_notices()
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    demo = Demo(out)
    summary: dict = {"backend": keras.backend.backend(), "test_images": len(demo.x)}
    for number, (title, step) in enumerate(STEPS, start=1):
        log(f"[{number}/{len(STEPS)}] {title}")
        summary.update({k: round(float(v), 4) for k, v in step(demo).items()})
    summary["seconds"] = round(time.time() - start, 1)
    with atomic_file(out / "metrics.json") as stream:
        stream.write((json.dumps(summary, indent=2) + "\n").encode())
    return summary
