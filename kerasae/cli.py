"""The `kerasae` command."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kerasae",
        description="A Keras 3 model zoo of autoencoders (TensorFlow, JAX or PyTorch backend; "
        "pick one with KERAS_BACKEND).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("variants", help="list the autoencoder variants kerasae.build knows")
    demo = commands.add_parser(
        "demo",
        help="train a small convolutional AE and a VAE on the bundled MNIST sample and write "
        "pictures and metrics (no network, a minute or two on 2 CPU cores)",
    )
    demo.add_argument("--out", default="outputs/demo", help="folder for pictures and metrics")
    demo.add_argument("--epochs", type=int, default=30, help="training epochs per model")
    args = parser.parse_args(argv)
    if args.command == "variants":
        import kerasae

        print("\n".join(kerasae.variants()))
        return 0
    return run_demo(Path(args.out), args.epochs)


def run_demo(out: Path, epochs: int) -> int:
    """Until pretrained presets are bundled, the demo trains its models on the MNIST sample."""
    import keras
    import numpy as np

    import kerasae
    from kerasae.apps.pictures import image_rows
    from kerasae.data import load_mnist_sample
    from kerasae.metrics import importance_weighted_bound

    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    (x_train, _), (x_test, _) = load_mnist_sample()
    print(f"backend {keras.backend.backend()}; MNIST sample: {len(x_train)} train, "
          f"{len(x_test)} test images", flush=True)

    start = time.time()
    conv = kerasae.build("conv_ae", input_shape=(28, 28, 1), latent_dim=16,
                         reconstruction_loss="bce")
    conv.compile(optimizer=keras.optimizers.Adam(2e-3))
    conv.fit(x_train, epochs=epochs, batch_size=64, verbose=2)
    recon = conv.reconstruct(x_test)
    mse = float(np.mean((recon - x_test) ** 2))
    psnr = float(10 * np.log10(1.0 / mse))
    image_rows([x_test[:12], recon[:12]], out / "conv_ae_reconstructions.png",
               titles=["test images", "conv_ae reconstructions"])

    vae = kerasae.build("vae", input_shape=(28, 28, 1), latent_dim=8, architecture="dense",
                        hidden_units=(256,))
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(x_train, epochs=epochs, batch_size=64, verbose=2)
    bound = importance_weighted_bound(vae, x_test, k=50, seed=0)
    image_rows([vae.sample(12, seed=0), vae.sample(12, seed=1)], out / "vae_samples.png",
               titles=["vae samples (seed 0)", "vae samples (seed 1)"])

    metrics = {
        "backend": keras.backend.backend(),
        "conv_ae_test_mse": round(mse, 5),
        "conv_ae_test_psnr_db": round(psnr, 2),
        "vae_test_iwae_bound_k50_nats": round(float(bound.mean()), 2),
        "seconds": round(time.time() - start, 1),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))
    print(f"pictures and metrics written to {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
