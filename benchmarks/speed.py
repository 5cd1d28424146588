"""Section 6: where kerasae's `fit` loses time, measured by switching one thing at a time in
one process per backend (kerasae itself is not modified: variants are subclasses, compile
options and a decoder rebuilt with a drop-in layer).

    KERAS_BACKEND=jax python -m benchmarks.speed --repeats 5 --target-s 10

Variants of the canonical conv VAE's training step:
  default            kerasae.build(...) + compile(Adam), what users get
  no term trackers   compute_loss without the three per-term Mean trackers' update_state
  lean compute_loss  no term trackers and no training_step counter assign (unused here:
                     kl_warmup_steps=0, no capacity)
  steps_per_execution=1, jit_compile=True   compile options (TensorFlow; JAX already jits;
                     kerasae's default on TensorFlow is steps_per_execution=8)
  plain Keras model  the same layers as stock Keras layers in a keras.Model with a five-line
                     compute_loss (benchmarks.common.build_plain_keras_vae): Keras' own cost
  zero-insertion deconv   the decoder's Conv2DTranspose replaced by ZeroInsertConv2DTranspose
                     (same weights and outputs, checked): XLA on CPU computes the kernel
                     gradient of a transposed convolution very slowly (a window-dilated conv)
  adjoint-gradient deconv (JAX)   Conv2DTranspose with a jax.custom_vjp whose kernel gradient
                     is that of the strided conv it is the adjoint of (same outputs, checked)
and the backend's hand-written loop (TF loop / torch loop) as the floor.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext

import numpy as np

from benchmarks import common, timing


def zero_insert_layer_class():
    """A Keras layer equal to Conv2DTranspose(filters, 3, strides=2, padding="same"): insert
    zeros between pixels, pad 2 before, then a stride-1 valid convolution with the spatially
    flipped kernel. Weights have Conv2DTranspose's shape (3, 3, out, in)."""
    import keras
    from keras import ops

    class ZeroInsertConv2DTranspose(keras.layers.Layer):
        def __init__(self, filters: int, activation=None, **kwargs):
            super().__init__(**kwargs)
            self.filters = filters
            self.activation = keras.activations.get(activation)

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(3, 3, self.filters, input_shape[-1]),
                                          initializer="glorot_uniform", name="kernel")
            self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

        def call(self, x):
            h, w, c = x.shape[1:]
            x = ops.reshape(ops.stack([x, ops.zeros_like(x)], axis=3), (-1, h, 2 * w, c))
            x = ops.reshape(ops.stack([x, ops.zeros_like(x)], axis=2), (-1, 2 * h, 2 * w, c))
            x = ops.pad(x, [[0, 0], [2, 0], [2, 0], [0, 0]])
            kernel = ops.transpose(ops.flip(ops.flip(self.kernel, 0), 1), (0, 1, 3, 2))
            return self.activation(ops.conv(x, kernel, strides=1, padding="valid") + self.bias)

        def compute_output_shape(self, input_shape):
            n, h, w, _ = input_shape
            return (n, 2 * h, 2 * w, self.filters)

    return ZeroInsertConv2DTranspose


def adjoint_layer_class():
    """kerasae's Conv2DTranspose with the fast JAX kernel gradient (kerasae/conv.py), which
    this benchmark found; the "stock" variant below measures the layer it replaced."""
    from kerasae.conv import AdjointConv2DTranspose

    return AdjointConv2DTranspose


def check_layer(layer_cls) -> float:
    """Max |difference| between Conv2DTranspose and `layer_cls`, same weights."""
    import keras

    x = np.random.default_rng(0).standard_normal((2, 7, 7, 5)).astype("float32")
    reference = keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same")
    candidate = layer_cls(4) if layer_cls.__name__.startswith("Zero") else layer_cls(
        4, 3, strides=2, padding="same")
    expected = keras.ops.convert_to_numpy(reference(x))
    candidate(x)
    candidate.set_weights(reference.get_weights())
    return float(np.max(np.abs(keras.ops.convert_to_numpy(candidate(x)) - expected)))


def check_adjoint_gradients() -> float | None:
    """JAX only: max relative difference of the input and kernel gradients of the adjoint-
    gradient transposed conv against Keras' own conv_transpose (None on other backends)."""
    import keras

    if keras.backend.backend() != "jax":
        return None
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.standard_normal((2, 7, 7, 6)), dtype="float32")
    k = jnp.asarray(rng.standard_normal((3, 3, 4, 6)), dtype="float32")
    g = jnp.asarray(rng.standard_normal((2, 14, 14, 4)), dtype="float32")

    def stock(x, k):
        return jnp.sum(keras.ops.conv_transpose(x, k, 2, padding="same") * g)

    def adjoint(x, k):
        from kerasae.conv import _jax_conv_transpose

        return jnp.sum(_jax_conv_transpose(x, k, (14, 14), (2, 2)) * g)

    worst = 0.0
    for a, b in zip(jax.grad(stock, (0, 1))(x, k), jax.grad(adjoint, (0, 1))(x, k),
                    strict=True):
        worst = max(worst, float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(a))))
    return worst


def check_zero_insert_layer() -> float:
    return check_layer(zero_insert_layer_class())


def with_decoder_deconv(model, kind: str):
    """A copy of the VAE whose decoder's Conv2DTranspose layers are replaced ("zero_insert",
    "adjoint" or "stock" keras.layers.Conv2DTranspose), weights copied over."""
    import keras

    decoder = model.decoder

    def clone(layer):
        if isinstance(layer, keras.layers.Conv2DTranspose):
            if kind == "zero_insert":
                return zero_insert_layer_class()(layer.filters, activation=layer.activation,
                                                 name=layer.name)
            if kind == "stock":
                return keras.layers.Conv2DTranspose.from_config(layer.get_config())
            return adjoint_layer_class().from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    new_decoder = keras.models.clone_model(decoder, clone_function=clone)
    for old, new in zip(decoder.layers, new_decoder.layers, strict=True):
        new.set_weights(old.get_weights())
    return type(model)(model.encoder, new_decoder, **model.objective_config())


def loss_variant_class(kind: str):
    """VariationalAutoencoder subclasses with a slimmer compute_loss."""
    from kerasae.models.vae import VariationalAutoencoder

    class NoTermTrackers(VariationalAutoencoder):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            data, condition = self._split(x)
            reconstruction, kl_loss, _ = self.loss_terms(data, condition, y_pred)
            if training and kind == "no term trackers":
                self.training_step.assign(self.training_step + 1.0)
            return reconstruction + kl_loss

    return NoTermTrackers


VARIANTS = {
    "tensorflow": [
        ("default", {}),
        ("plain Keras model, same layers", {"plain": True}),
        ("no term trackers", {"loss": "no term trackers"}),
        ("lean compute_loss", {"loss": "lean"}),
        ("steps_per_execution=1 (Keras' default, before)", {"compile": {"steps_per_execution": 1}}),
        ("jit_compile=True (XLA)", {"compile": {"jit_compile": True}}),
        ("zero-insertion deconv", {"deconv": "zero_insert"}),
    ],
    "jax": [
        ("default", {}),  # kerasae.conv.AdjointConv2DTranspose
        ("stock keras Conv2DTranspose (before)", {"deconv": "stock"}),
        ("zero-insertion deconv", {"deconv": "zero_insert"}),
        ("lean compute_loss", {"loss": "lean"}),
    ],
    "torch": [
        ("default", {}),  # conv stacks channels first (kerasae.networks.conv_layout)
        ("channels-last conv stacks (before)", {"layout": "channels_last"}),
        ("plain Keras model, same layers", {"plain": True}),
        ("no term trackers", {"loss": "no term trackers"}),
        ("lean compute_loss", {"loss": "lean"}),
        ("zero-insertion deconv", {"deconv": "zero_insert"}),
    ],
}


def conv_layout(layout: str | None) -> AbstractContextManager:
    """Builds conv stacks in `layout` ("channels_last": kerasae on torch before it ran them
    channels first); None keeps kerasae's choice."""
    from kerasae import networks

    return networks.conv_data_format(layout) if layout else nullcontext()


def build_variant(spec: dict):
    import keras

    if spec.get("plain"):
        return common.build_plain_keras_vae(compile_kwargs=spec.get("compile"))
    # the zero-insertion layer is written for channels-last inputs
    layout = "channels_last" if spec.get("deconv") == "zero_insert" else spec.get("layout")
    with conv_layout(layout):
        model = common.build_kerasae_vae(
            cls=loss_variant_class(spec["loss"]) if "loss" in spec else None)
        if spec.get("deconv"):
            model = with_decoder_deconv(model, spec["deconv"])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), **spec.get("compile", {}))
    return model


def main(argv: list[str] | None = None) -> dict:
    parser = common.training_parser(__doc__, warm_steps=4, max_steps=160)
    parser.add_argument("--check-samples", type=int, default=60000)
    args = parser.parse_args(argv)
    common.set_backend(args.backend)

    import keras

    backend = keras.backend.backend()
    b = args.batch_size or 128
    x = common.mnist_images(b * args.max_steps)
    runs, multiple = {}, {}
    for name, spec in VARIANTS[backend]:
        model = build_variant(spec)
        multiple[name] = model.steps_per_execution

        def fit(steps: int, model=model):
            model.fit(x[: steps * b], batch_size=b, epochs=1, verbose=0)

        runs[name] = fit
    if backend == "tensorflow":
        from benchmarks.networks_tf import TFLoop

        runs["TF loop (floor)"] = TFLoop(x, b).train
    elif backend == "torch":
        from benchmarks.networks_torch import TorchLoop

        runs["torch loop (floor)"] = TorchLoop(x, b).train
    steps = {}
    for name, run in runs.items():  # warm-up (compile), then calibrate the steps per repeat
        k = multiple.get(name, 1)  # steps_per_execution=k runs whole groups of k steps
        warm = -(-args.warm_steps // k) * k
        run(warm)
        start = time.perf_counter()
        run(warm)
        wanted = common.steps_for((time.perf_counter() - start) / warm, args.target_s,
                                  max(2, k), args.max_steps)
        steps[name] = max(k, wanted // k * k)
    cases = {name: (lambda r=run, s=steps[name]: r(s)) for name, run in runs.items()}
    seconds = timing.interleave(cases, args.repeats)
    samples = {name: [steps[name] * b / t for t in s] for name, s in seconds.items()}
    base = samples["default"]
    # kerasae's fit() also checks the whole array (shape, finite, range) before training.
    model = common.build_kerasae_vae()
    images = common.mnist_images(args.check_samples)
    start = time.perf_counter()
    model.check_inputs(images)
    check_s = time.perf_counter() - start
    result = {
        "backend": backend,
        "batch_size": b,
        "steps": steps,
        "zero_insert_max_abs_diff": check_zero_insert_layer(),
        "adjoint_max_abs_diff": check_layer(adjoint_layer_class()),
        "adjoint_gradient_max_rel_diff": check_adjoint_gradients(),
        "samples_per_s": {k: timing.summarize(v).as_dict() for k, v in samples.items()},
        "vs_default": {k: timing.summarize(timing.paired_ratios(v, base)).as_dict()
                       for k, v in samples.items()},
        "check_inputs_seconds": {"samples": args.check_samples, "seconds": check_s},
        "raw_samples_per_s": samples,
    }
    timing.emit(result)
    return result


if __name__ == "__main__":
    main()
