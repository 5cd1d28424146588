"""Section 1, optional: pythae's VAE with the same conv encoder/decoder, against the hand-written
torch loop, interleaved in one process. Runs in the throwaway venv that has pythae (see
requirements-pythae.txt); needs only torch, numpy and pythae, not Keras or kerasae.

    /tmp/pythae-venv/bin/python -m benchmarks.pythae_bench --repeats 5 --target-s 10

Cases: "pythae trainer" is BaseTrainer.train_step (one epoch of its DataLoader loop: per-item
dataset indexing and collation, forward, Adam step, loss.item()); "pythae model, manual loop"
calls the pythae model's forward on tensor slices with torch Adam, isolating the model from the
trainer; "torch loop" is benchmarks.networks_torch. pythae's BCE takes probabilities, so its
decoder ends in a sigmoid (same parameters and FLOPs).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import common, timing
from benchmarks.networks_torch import LOG_VAR_BOUND, ConvDecoder, ConvEncoder, TorchLoop, _glorot_

ASSET = Path(__file__).resolve().parents[1] / "kerasae" / "assets" / "mnist_sample.npz"


def mnist_nchw(n: int) -> np.ndarray:
    """n images float32 (n, 1, 28, 28) in [0, 1] from the shipped sample, tiled."""
    x = np.load(ASSET)["x_train"].astype(np.float32) / 255.0
    x = np.concatenate([x] * (-(-n // len(x))))[:n]
    return np.ascontiguousarray(x[:, None])


def build_pythae_vae(latent_dim: int = 16, input_shape=(28, 28, 1), filters=(32, 64)):
    """pythae VAE (bce) whose encoder/decoder are the benchmark's conv networks."""
    import torch
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.net = ConvEncoder(input_shape, latent_dim, filters)

        def forward(self, x):
            mean, raw = self.net(x)
            return ModelOutput(embedding=mean,
                               log_covariance=LOG_VAR_BOUND * torch.tanh(raw / LOG_VAR_BOUND))

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.net = ConvDecoder(input_shape, latent_dim, filters)

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z)))

    config = VAEConfig(input_dim=(input_shape[2], *input_shape[:2]), latent_dim=latent_dim,
                       reconstruction_loss="bce")
    model = VAE(config, encoder=Encoder(), decoder=Decoder())
    _glorot_(model)
    return model


def main(argv: list[str] | None = None) -> dict:
    parser = common.training_parser(__doc__, backend=False)
    parser.add_argument("--net", choices=("28", "64"), default="28")
    args = parser.parse_args(argv)
    out_dir = tempfile.mkdtemp(prefix="pythae-bench-")  # the trainer writes its folders here
    try:
        result = _measure(args, out_dir)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    timing.emit(result)
    return result


def _measure(args, out_dir: str) -> dict:
    import pythae
    import torch
    from pythae.data.datasets import BaseDataset
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    b = args.batch_size or (128 if args.net == "28" else 64)
    n = b * max(args.max_steps, args.warm_steps)
    if args.net == "28":
        x, net = mnist_nchw(n), {"latent_dim": 16, "input_shape": (28, 28, 1),
                                 "filters": (32, 64)}
    else:  # the dSprites presets' net (benchmarks.common.net_spec("64")), binary images
        x = (np.random.default_rng(0).random((n, 1, 64, 64)) < 0.1).astype(np.float32)
        net = {"latent_dim": 10, "input_shape": (64, 64, 1), "filters": (32, 32, 64, 64)}
    x_tensor = torch.from_numpy(x)
    trainer_model = build_pythae_vae(**net)
    config = BaseTrainerConfig(output_dir=out_dir, num_epochs=1, learning_rate=1e-3,
                               per_device_train_batch_size=b, no_cuda=True,
                               optimizer_params={"eps": 1e-7})

    def dataset(steps: int):
        n = steps * b
        return BaseDataset(x_tensor[:n], torch.zeros(n))

    trainer = BaseTrainer(trainer_model, train_dataset=dataset(args.warm_steps),
                          training_config=config)
    trainer.prepare_training()

    def trainer_epoch(steps: int):
        trainer.train_loader = trainer.get_train_dataloader(dataset(steps))
        trainer.train_step(epoch=1)

    manual_model = build_pythae_vae(**net)
    manual_opt = torch.optim.Adam(manual_model.parameters(), lr=1e-3, eps=1e-7)

    def manual(steps: int):
        order = torch.randperm(len(x_tensor))
        manual_model.train()
        for i in range(steps):
            batch = x_tensor[order[i * b : (i + 1) * b]]
            manual_opt.zero_grad(set_to_none=True)
            out = manual_model({"data": batch})
            out.loss.backward()
            manual_opt.step()

    torch_loop = TorchLoop(x.transpose(0, 2, 3, 1), b, latent_dim=net["latent_dim"],
                           filters=net["filters"])
    runs = {"pythae trainer": trainer_epoch, "pythae model, manual loop": manual,
            "torch loop": torch_loop.train}
    steps = {}
    for name, run in runs.items():
        run(args.warm_steps)
        start = time.perf_counter()
        run(args.warm_steps)
        per_step = (time.perf_counter() - start) / args.warm_steps
        steps[name] = max(args.min_steps, min(args.max_steps, round(args.target_s / per_step)))
    cases = {name: (lambda r=run, s=steps[name]: r(s)) for name, run in runs.items()}
    seconds = timing.interleave(cases, args.repeats)
    samples = {name: [s * b / t for t in seconds[name]] for name, s in steps.items()}
    return {
        "pythae_version": getattr(pythae, "__version__", None) or _dist_version("pythae"),
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "net": args.net,
        "batch_size": b,
        "steps": steps,
        "params": {"pythae": sum(p.numel() for p in trainer_model.parameters()),
                   "torch loop": torch_loop.net.count_params()},
        "samples_per_s": {k: timing.summarize(v).as_dict() for k, v in samples.items()},
        "ratios": {
            f"{name} / torch loop": timing.summarize(
                timing.paired_ratios(samples[name], samples["torch loop"])).as_dict()
            for name in ("pythae trainer", "pythae model, manual loop")
        },
        "raw_samples_per_s": samples,
    }


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
