"""Section 2: inference throughput (examples/s) at batch 1 and batch 256 of a bundled preset,
through kerasae's numpy helper, the Keras endpoint model, the exported TF SavedModel and ONNX
Runtime, interleaved in one process per Keras backend.

    python -m benchmarks.inference export --preset vae_mnist --dir /tmp/exp   # TF backend
    KERAS_BACKEND=jax python -m benchmarks.inference measure --preset vae_mnist --dir /tmp/exp

The artefacts are exported once (on TensorFlow) and served in every backend's process, so the
SavedModel and ONNX columns are the same artefacts measured beside each backend's Keras paths.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks import common, timing

ENDPOINT = "reconstruct"


def export(preset: str, directory: Path) -> dict:
    """Write `<dir>/saved_model` and `<dir>/onnx/reconstruct.onnx` of `preset`."""
    import time

    import kerasae

    model = kerasae.load(preset, compile=False)
    seconds = {}
    for fmt, sub in (("tf_saved_model", "saved_model"), ("onnx", "onnx")):
        start = time.perf_counter()
        kerasae.export(model, directory / sub, format=fmt, endpoints=[ENDPOINT])
        seconds[fmt] = time.perf_counter() - start
    return {"export_seconds": seconds}


def measure(preset: str, directory: Path, batch_sizes: list[int], repeats: int,
            target_s: float) -> dict:
    """Examples/s of each serving path at each batch size (calls per repeat calibrated so one
    repeat of a case lasts about `target_s`)."""
    import time

    import keras
    import onnxruntime as ort
    import tensorflow as tf

    import kerasae

    model = kerasae.load(preset, compile=False)
    endpoint = model.endpoint(ENDPOINT)
    saved = tf.saved_model.load(str(directory / "saved_model"))
    options = ort.SessionOptions()
    if common.threads_setting():
        options.intra_op_num_threads = common.threads_setting()
    session = ort.InferenceSession(str(directory / "onnx" / f"{ENDPOINT}.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    images = common.mnist_images(max(batch_sizes))
    out: dict = {"backend": keras.backend.backend(), "preset": preset, "batch_sizes": {}}
    for b in batch_sizes:
        x = images[:b]
        x_tf = tf.constant(x)
        paths = {
            "kerasae reconstruct (numpy)": lambda x=x, b=b: model.reconstruct(x, batch_size=b),
            "endpoint.predict": lambda x=x, b=b: endpoint.predict(x, batch_size=b, verbose=0),
            "endpoint.predict_on_batch": lambda x=x: endpoint.predict_on_batch(x),
            "endpoint(x) eager call": lambda x=x: keras.ops.convert_to_numpy(endpoint(x)),
            "TF SavedModel .reconstruct": lambda x_tf=x_tf: saved.reconstruct(x_tf)[
                "reconstruction"].numpy(),
            "ONNX Runtime": lambda x=x: session.run(None, {input_name: x})[0],
        }
        reference = model.reconstruct(x, batch_size=b)
        errors = {name: float(np.max(np.abs(np.asarray(fn()) - reference)))
                  for name, fn in paths.items()}
        calls = {}
        for name, fn in paths.items():
            fn()  # warm-up (tracing, first-call allocation)
            start = time.perf_counter()
            fn()
            calls[name] = common.steps_for(time.perf_counter() - start, target_s, 1, 5000)
        cases = {name: (lambda fn=fn, k=calls[name]: [fn() for _ in range(k)])
                 for name, fn in paths.items()}
        seconds = timing.interleave(cases, repeats)
        rates = {name: timing.rates(s, calls[name] * b) for name, s in seconds.items()}
        base = rates["kerasae reconstruct (numpy)"]
        out["batch_sizes"][str(b)] = {
            "calls_per_repeat": calls,
            "examples_per_s": {k: timing.summarize(v).as_dict() for k, v in rates.items()},
            "vs_reconstruct": {k: timing.summarize(timing.paired_ratios(v, base)).as_dict()
                               for k, v in rates.items()},
            "max_abs_diff_vs_reconstruct": errors,
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["export", "measure"])
    parser.add_argument("--backend", default=None)
    parser.add_argument("--preset", default="vae_mnist")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--batch-sizes", default="1,256")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--target-s", type=float, default=1.0)
    args = parser.parse_args(argv)
    common.set_backend(args.backend)
    if args.command == "export":
        result = export(args.preset, args.dir)
    else:
        sizes = [int(s) for s in args.batch_sizes.split(",")]
        result = measure(args.preset, args.dir, sizes, args.repeats, args.target_s)
    timing.emit(result)
    return result


if __name__ == "__main__":
    main()
