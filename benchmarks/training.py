"""Section 1: training throughput of the canonical conv VAE, kerasae `fit` against hand-written
TensorFlow and PyTorch loops of the same network (and, on JAX, a hand-written JAX loop),
interleaved in one process per Keras backend.

    KERAS_BACKEND=jax python -m benchmarks.training --repeats 5 --target-s 10

Every case trains on MNIST-shaped data (the shipped sample, tiled) at the same batch size. Each
case first runs untimed (tracing, compilation, the warm-up epoch), then a short timed calibration
sets its step count so one repeat lasts about --target-s (so a slow backend does not take
forever); throughput is samples per second of the timed repeats.
"""

from __future__ import annotations

import time

from benchmarks import common, timing


def _fit_case(model, x, batch_size: int):
    def run(steps: int):
        model.fit(x[: steps * batch_size], batch_size=batch_size, epochs=1, verbose=0)

    return run


def _calibrated(run, warm_steps: int, target_s: float, min_steps: int, max_steps: int) -> int:
    """Run untimed (warm-up), then time `warm_steps` steps to pick the repeat's step count."""
    run(warm_steps)
    start = time.perf_counter()
    run(warm_steps)
    return common.steps_for((time.perf_counter() - start) / warm_steps, target_s, min_steps,
                            max_steps)


def main(argv: list[str] | None = None) -> dict:
    parser = common.training_parser(__doc__)
    parser.add_argument("--net", choices=common.NETS, default="28")
    args = parser.parse_args(argv)
    common.set_backend(args.backend)

    import keras

    from benchmarks.networks_tf import TFLoop
    from benchmarks.networks_torch import TorchLoop

    spec = common.net_spec(args.net)
    b = args.batch_size or spec["batch_size"]
    x = common.net_images(args.net, b * max(args.max_steps, args.warm_steps))
    model = common.build_net(args.net)
    tf_loop, torch_loop = TFLoop(x, b, **spec["loop"]), TorchLoop(x, b, **spec["loop"])
    runs = {"kerasae fit": _fit_case(model, x, b), "TF loop": tf_loop.train,
            "torch loop": torch_loop.train}
    loops = {"TF loop": tf_loop, "torch loop": torch_loop}
    if keras.backend.backend() == "jax":  # the floor XLA gives this net, without Keras
        from benchmarks.networks_jax import JaxLoop

        loops["JAX loop"] = JaxLoop(x, b, **spec["loop"])
        runs["JAX loop"] = loops["JAX loop"].train
    steps = {name: _calibrated(run, args.warm_steps, args.target_s, args.min_steps,
                               args.max_steps) for name, run in runs.items()}
    cases = {name: (lambda r=run, s=steps[name]: r(s)) for name, run in runs.items()}
    seconds = timing.interleave(cases, args.repeats)
    samples = {name: [s * b / t for t in seconds[name]] for name, s in steps.items()}
    result = {
        "backend": keras.backend.backend(),
        "net": args.net,
        "batch_size": b,
        "steps": steps,
        "params": {"kerasae": common.trainable_count(model),
                   **{name: loop.net.count_params() for name, loop in loops.items()}},
        "samples_per_s": {k: timing.summarize(v).as_dict() for k, v in samples.items()},
        "ratios": {
            f"kerasae / {ref}": timing.summarize(
                timing.paired_ratios(samples["kerasae fit"], samples[ref])).as_dict()
            for ref in loops
        },
        "raw_samples_per_s": samples,
    }
    timing.emit(result)
    return result


if __name__ == "__main__":
    main()
