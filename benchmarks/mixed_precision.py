"""Section 7: is mixed_bfloat16 faster than float32 for training on this CPU (AVX512-BF16, AMX)?

TensorFlow backend, `fit` samples/s of two nets under the float32 and mixed_bfloat16 policies,
with Keras' default compile (on a CPU-only machine "auto" means no XLA: TensorFlow's own oneDNN
kernels, which have bfloat16 AMX paths):

- vae28: the canonical 28x28 conv VAE of section 1 (batch 128, shipped MNIST sample, tiled);
- dsprites64: the beta_vae_dsprites recipe's 64x64 conv beta-VAE (batch 64, dSprites images).

Each policy's model is built and warmed (traced, one epoch on the same data) first; then
`--rounds` rounds time one `fit` call of `--epochs` epochs over `--samples` examples per policy,
round-robin in a rotated order (benchmarks/timing.py); the summary gives medians, quartiles and
range of samples/s and the per-round bf16/float32 ratio. Beside wall-clock samples/s it gives
samples per CPU-second of the process (time.process_time): on a machine shared with other
jobs the wall clock counts the time the process waited for a core, the CPU time does not.

    python -m benchmarks.mixed_precision [--nets vae28 dsprites64] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks import common, timing

NETS = {
    "vae28": {"variant": "vae", "build": common.VAE_KWARGS, "batch_size": 128,
              "learning_rate": 1e-3},
    "dsprites64": {"variant": "beta_vae",
                   "build": dict(input_shape=(64, 64, 1), latent_dim=10, beta=16.0,
                                 architecture="conv", filters=(32, 32, 64, 64),
                                 likelihood="bernoulli"),
                   "batch_size": 64, "learning_rate": 5e-4},
}
POLICIES = ("float32", "mixed_bfloat16")


def images(net: str, n: int) -> np.ndarray:
    if net == "vae28":
        return common.mnist_images(n)
    from kerasae.data.dsprites import DSprites

    data = DSprites()
    picks = np.random.default_rng(0).choice(len(data), size=n, replace=False)
    return data.images(np.sort(picks))[..., None].astype(np.float32)


def build(net: str, policy: str):
    """The net built and compiled under `policy` (the global policy is float32 again after)."""
    import keras

    import kerasae

    spec = NETS[net]
    keras.mixed_precision.set_global_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        model = kerasae.build(spec["variant"], seed=0, **spec["build"])
        model.compile(optimizer=keras.optimizers.Adam(spec["learning_rate"]))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return model


def measure(net: str, samples: int, epochs: int, rounds: int) -> dict:
    """samples/s per policy and round, and the paired bf16/float32 ratio of each round."""
    x = images(net, samples)
    batch = NETS[net]["batch_size"]
    cases, cpu_seconds = {}, {policy: [] for policy in POLICIES}
    for policy in POLICIES:
        model = build(net, policy)
        model.fit(x, batch_size=batch, epochs=1, verbose=0, shuffle=False)  # trace, warm

        def run(model=model, cpu=cpu_seconds[policy]):
            start = time.process_time()
            model.fit(x, batch_size=batch, epochs=epochs, verbose=0, shuffle=False)
            cpu.append(time.process_time() - start)

        cases[policy] = run
    seconds = timing.interleave(cases, rounds)
    rates = {name: timing.rates(s, samples * epochs) for name, s in seconds.items()}
    cpu_rates = {name: timing.rates(s, samples * epochs) for name, s in cpu_seconds.items()}
    result = {"net": net, "batch_size": batch, "samples": samples, "epochs": epochs,
              "rounds": rounds,
              "samples_per_s": {k: timing.summarize(v).as_dict() for k, v in rates.items()},
              "raw_samples_per_s": rates,
              "samples_per_cpu_s": {k: timing.summarize(v).as_dict()
                                    for k, v in cpu_rates.items()},
              "raw_samples_per_cpu_s": cpu_rates,
              "bf16_over_float32": timing.summarize(timing.paired_ratios(
                  rates["mixed_bfloat16"], rates["float32"])).as_dict()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS))
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    common.set_backend("tensorflow")
    for net in args.nets:
        result = measure(net, args.samples, args.epochs, args.rounds)
        for name, stats in result["samples_per_s"].items():
            print(f"{net:11s} {name:15s} median {stats['median']:6.0f} samples/s "
                  f"(IQR {stats['q1']:.0f}-{stats['q3']:.0f}, range "
                  f"{stats['min']:.0f}-{stats['max']:.0f})", flush=True)
        for name, stats in result["samples_per_cpu_s"].items():
            print(f"{net:11s} {name:15s} median {stats['median']:6.0f} samples/CPU-s "
                  f"(range {stats['min']:.0f}-{stats['max']:.0f})", flush=True)
        ratio = result["bf16_over_float32"]
        print(f"{net:11s} bf16/float32 per round: median {ratio['median']:.2f} "
              f"(range {ratio['min']:.2f}-{ratio['max']:.2f})", flush=True)
        timing.emit(result)


if __name__ == "__main__":
    main()
