"""The README's main job: load bundled presets, write a small gallery and a metrics summary.

Runs offline in well under a minute on 2 CPU cores: only the MNIST sample shipped inside
kerasae is used, and every model comes from the bundled `weights/`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from kerasae.apps.pictures import image_rows

GALLERY = ("conv_ae_mnist", "denoising_ae_mnist", "vae_mnist", "cvae_mnist")


def run_demo(out: str | Path, log=print) -> dict:
    """Write `<out>/*.png` and `<out>/metrics.json`; returns the metrics."""
    import keras

    import kerasae
    from kerasae.data import binarize, load_mnist_sample
    from kerasae.metrics import importance_weighted_bound, psnr

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    available = set(kerasae.list_models())
    missing = [name for name in GALLERY if name not in available]
    if missing:
        raise RuntimeError(f"bundled presets {missing} are missing from this installation.")
    _, (x, y) = load_mnist_sample()
    summary: dict = {"backend": keras.backend.backend(), "test_images": len(x)}

    log("conv_ae_mnist: reconstructing the MNIST sample's test digits")
    conv = kerasae.load("conv_ae_mnist", compile=False)
    recon = conv.reconstruct(x)
    summary["conv_ae_mnist_psnr_db"] = round(float(psnr(x, recon).mean()), 2)
    image_rows([x[:12], recon[:12]], out / "reconstructions.png",
               titles=["test digits", "conv_ae_mnist reconstructions"])

    log("denoising_ae_mnist: removing Gaussian noise (sigma 0.5)")
    denoiser = kerasae.load("denoising_ae_mnist", compile=False)
    noisy = np.clip(x + np.random.default_rng(0).normal(0, 0.5, x.shape), 0, 1).astype("float32")
    clean = denoiser.reconstruct(noisy)
    summary["denoising_noisy_psnr_db"] = round(float(psnr(x, noisy).mean()), 2)
    summary["denoising_denoised_psnr_db"] = round(float(psnr(x, clean).mean()), 2)
    image_rows([x[:12], noisy[:12], clean[:12]], out / "denoising.png",
               titles=["clean", "noisy (sigma 0.5)", "denoising_ae_mnist"])

    log("vae_mnist: samples and a likelihood bound on binarised digits")
    vae = kerasae.load("vae_mnist", compile=False)
    image_rows([vae.sample(12, seed=s) for s in range(3)], out / "vae_samples.png",
               titles=["vae_mnist samples (seeds 0, 1, 2)", "", ""])
    bound = importance_weighted_bound(vae, binarize(x[:200], seed=1), k=100, seed=0)
    summary["vae_mnist_nll_nats_k100_200_digits"] = round(float(-bound.mean()), 2)

    log("cvae_mnist: ten samples of each digit")
    cvae = kerasae.load("cvae_mnist", compile=False)
    rows = [cvae.sample(10, seed=digit, condition=digit) for digit in range(10)]
    image_rows(rows, out / "cvae_digits.png", titles=[f"digit {d}" for d in range(10)])

    summary["seconds"] = round(time.time() - start, 1)
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
