"""Section 4: FLOPs of a Keras model counted analytically, and this machine's float32
matrix-multiply peak measured with TensorFlow.

Counting convention (stated in RESULTS.md): per example, a Dense layer costs in * out
multiply-accumulates (MACs); a Conv2D out_h * out_w * k_h * k_w * c_in * c_out; a
Conv2DTranspose in_h * in_w * k_h * k_w * c_in * c_out (each input pixel scatters one k x k x
c_out patch). Forward FLOPs = 2 * MACs; training FLOPs = 3 * forward (the backward pass costs
two forward passes: gradients with respect to the inputs and to the weights). Biases,
activations, the loss, sampling and the optimiser are left out (they are O(activations), not
O(MACs)), and so is the first layer's unneeded input gradient, so this slightly overstates the
work and the utilisation is, if anything, flattering.

    python -m benchmarks.flops --sizes 2048,4096 --repeats 5
"""

from __future__ import annotations

import argparse
import math
import time

from benchmarks import timing


def layer_macs(layer) -> int:
    """Multiply-accumulates per example of one Keras layer (0 for layers without weights that
    multiply: Flatten, Reshape, activations, ...)."""
    import keras

    kind = type(layer).__name__
    if isinstance(layer, keras.layers.Conv2DTranspose):  # kerasae.conv's subclass too
        kind = "Conv2DTranspose"
    if kind == "Dense":
        return int(layer.kernel.shape[0] * layer.kernel.shape[1] *
                   math.prod(layer.output.shape[1:-1]))
    if kind in ("Conv1D", "Conv2D", "Conv3D"):
        kernel = layer.kernel.shape  # (*k, c_in, c_out)
        return int(math.prod(_spatial(layer, layer.output.shape)) * math.prod(kernel))
    if kind in ("Conv2DTranspose", "Conv1DTranspose", "Conv3DTranspose"):
        kernel = layer.kernel.shape  # (*k, c_out, c_in)
        return int(math.prod(_spatial(layer, layer.input.shape)) * math.prod(kernel))
    return 0


def _spatial(layer, shape) -> tuple:
    """The spatial dimensions of a conv layer's (batch, ...) `shape` in its data format."""
    return tuple(shape[2:] if layer.data_format == "channels_first" else shape[1:-1])


def model_macs(model) -> dict[str, int]:
    """MACs per example of every counted layer of `model`, recursing into nested models and
    into an Autoencoder's encoder and decoder."""
    counts: dict[str, int] = {}
    children = getattr(model, "layers", None)
    if children is None or (not children and hasattr(model, "encoder")):
        children = []
    if hasattr(model, "encoder") and hasattr(model, "decoder"):
        children = [model.encoder, model.decoder]
    for layer in children:
        if hasattr(layer, "layers"):
            counts.update(model_macs(layer))
        else:
            macs = layer_macs(layer)
            if macs:
                counts[layer.name] = macs
    return counts


def forward_flops(model) -> int:
    """2 * MACs per example."""
    return 2 * sum(model_macs(model).values())


def training_flops(model) -> int:
    """3 * forward FLOPs per example (forward + backward)."""
    return 3 * forward_flops(model)


def matmul_peak(sizes: list[int], repeats: int) -> dict:
    """FLOP/s of n x n float32 matmuls in TensorFlow (2 n^3 FLOPs each), median of repeats."""
    import tensorflow as tf

    out = {}
    for n in sizes:
        a = tf.random.uniform((n, n), seed=1)
        b = tf.random.uniform((n, n), seed=2)

        @tf.function
        def product(a, b):
            return tf.reduce_sum(tf.matmul(a, b))  # a scalar: no n x n copy back to numpy

        product(a, b).numpy()
        calls = max(1, int(2.0 * 4096**3 / n**3))  # ~ the same work per repeat for any n
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(calls):
                product(a, b).numpy()
            seconds.append(time.perf_counter() - start)
        flops = [calls * 2 * n**3 / s for s in seconds]
        out[str(n)] = timing.summarize(flops).as_dict()
    best = max(out.values(), key=lambda s: s["median"])
    return {"sizes": out, "peak_flops": best["median"]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2048,4096")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    from benchmarks import common

    common.set_backend("tensorflow")
    model = common.build_kerasae_vae()
    result = {
        "layers": model_macs(model),
        "forward_flops_per_example": forward_flops(model),
        "training_flops_per_example": training_flops(model),
        **matmul_peak([int(s) for s in args.sizes.split(",")], args.repeats),
    }
    timing.emit(result)
    return result


if __name__ == "__main__":
    main()
