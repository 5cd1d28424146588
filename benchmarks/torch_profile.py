"""Where kerasae's `fit` spends its time on the torch backend: torch.profiler over a few
training steps of kerasae's conv VAE, of the same layers in plain Keras, and of the hand-written
torch loop; prints each one's top operators by self CPU time.

    KERAS_BACKEND=torch python -m benchmarks.torch_profile --steps 20
"""

from __future__ import annotations

import argparse
import os

from benchmarks import common, timing


def profile(run, steps: int, top: int) -> tuple[str, list[dict]]:
    import torch
    from torch.profiler import ProfilerActivity

    run(2)  # warm-up
    with torch.profiler.profile(activities=[ProfilerActivity.CPU]) as prof:
        run(steps)
    averages = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in averages)
    rows = sorted(averages, key=lambda e: -e.self_cpu_time_total)[:top]
    table = [{"op": e.key, "calls_per_step": e.count / steps,
              "self_ms_per_step": e.self_cpu_time_total / 1000 / steps,
              "share": e.self_cpu_time_total / total} for e in rows]
    return averages.table(sort_by="self_cpu_time_total", row_limit=top), [
        {"total_self_ms_per_step": total / 1000 / steps}, *table]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)
    common.set_backend(os.environ.get("KERAS_BACKEND", "torch"))
    from benchmarks.networks_torch import TorchLoop

    b = args.batch_size
    x = common.mnist_images(b * args.steps)
    models = {"kerasae fit": common.build_kerasae_vae(),
              "plain Keras fit": common.build_plain_keras_vae()}
    runs = {name: (lambda s, m=m: m.fit(x[: s * b], batch_size=b, epochs=1, verbose=0))
            for name, m in models.items()}
    runs["torch loop"] = TorchLoop(x, b).train
    result = {}
    for name, run in runs.items():
        text, rows = profile(run, args.steps, args.top)
        print(f"==== {name}\n{text}", flush=True)
        result[name] = rows
    timing.emit(result)


if __name__ == "__main__":
    main()
