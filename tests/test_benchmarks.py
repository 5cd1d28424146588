"""The benchmark harness (benchmarks/) is importable and its references are sound: the
hand-written TF, torch and JAX conv VAEs match kerasae's parameter for parameter and train, and
the FLOP counter gives known values. No timing is asserted. Works on every KERAS_BACKEND (the
hand nets always use TensorFlow, torch and JAX directly)."""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import (  # noqa: E402
    common,
    flops,
    networks_jax,
    networks_tf,
    networks_torch,
    report,
    timing,
)

CONV_VAE_PARAMS = 228_193  # 119,200 encoder + 108,993 decoder


@pytest.fixture(scope="module")
def batch() -> np.ndarray:
    return common.mnist_images(32)


def test_hand_written_networks_match_kerasae_parameter_count():
    import kerasae

    model = kerasae.build("vae", **common.VAE_KWARGS)
    assert common.trainable_count(model) == CONV_VAE_PARAMS
    assert networks_tf.TFConvVAE(**_net_kwargs()).count_params() == CONV_VAE_PARAMS
    assert networks_torch.TorchConvVAE(**_net_kwargs()).count_params() == CONV_VAE_PARAMS
    assert networks_jax.JaxConvVAE(**_net_kwargs()).count_params() == CONV_VAE_PARAMS


def test_64x64_benchmark_net_is_the_dsprites_presets_net_in_every_implementation():
    """Fails if section 1's 64x64 net drifts from the beta_vae_dsprites recipe, or if the
    hand-written loops or pythae's wrapper stop building it parameter for parameter."""
    from benchmarks import recipes_bench

    recipe = recipes_bench.all_recipes()["beta_vae_dsprites"]
    assert {k: v for k, v in recipe.build.items() if k != "seed"} == common.DSPRITES_KWARGS
    spec = common.net_spec("64")
    assert spec["batch_size"] == recipe.batch_size
    model = common.build_net("64")
    loop = dict(spec["loop"], input_shape=common.DSPRITES_KWARGS["input_shape"])
    count = common.trainable_count(model)
    assert count == 198_613
    assert networks_tf.TFConvVAE(**loop).count_params() == count
    assert networks_torch.TorchConvVAE(**loop).count_params() == count
    assert networks_jax.JaxConvVAE(**loop).count_params() == count
    assert common.net_images("64", 3).shape == (3, 64, 64, 1)


def test_every_fit_recipe_has_its_epoch_size():
    """Fails if a recipe trained with fit has a data function the recipe benchmark cannot
    size (it would have no projected wall time)."""
    from benchmarks import recipes_bench

    recipes = recipes_bench.fit_recipes()
    assert recipes and all(r.data.__name__ in recipes_bench.TRAIN_EXAMPLES
                           for r in recipes.values())
    cvae = recipes_bench.synthetic_inputs(recipes["cvae_mnist"], 5)
    assert cvae[0].shape == (5, 28, 28, 1) and cvae[1].dtype == np.int32


def test_plain_keras_vae_matches_the_parameter_count():
    assert common.trainable_count(common.build_plain_keras_vae()) == CONV_VAE_PARAMS


def _net_kwargs() -> dict:
    return {k: common.VAE_KWARGS[k] for k in ("input_shape", "latent_dim", "filters")}


def test_tf_training_step_reduces_the_loss(batch):
    import tensorflow as tf

    net = networks_tf.TFConvVAE(**_net_kwargs(), seed=0)
    x = tf.constant(batch)

    def loss() -> float:  # the same noise draw each time: a deterministic objective
        net.noise.reset_from_seed(1)
        return float(net.loss_fn(x))

    before = loss()
    net.train_step(x)
    assert np.isfinite(before) and loss() < before


def test_torch_training_step_reduces_the_loss(batch):
    import torch

    loop = networks_torch.TorchLoop(batch, batch_size=len(batch), seed=0)
    x = loop.data

    def loss() -> float:
        torch.manual_seed(1)
        with torch.no_grad():
            return float(loop.net.loss(x))

    before = loss()
    loop.step(x)
    assert np.isfinite(before) and loss() < before


def test_jax_net_computes_the_tf_nets_loss_and_gradients_and_trains(batch):
    """The JAX loop's net starts from the TF net's weights (the same Glorot draws in the same
    order), so with the noise set to zero both give the same loss and gradient norm (which a
    wrong kernel layout or transposed convolution would change); one Adam step lowers it."""
    import jax
    import tensorflow as tf

    kwargs = _net_kwargs()
    loop = networks_jax.JaxLoop(batch, batch_size=len(batch), seed=0,
                                **{k: v for k, v in kwargs.items() if k != "input_shape"})
    net = loop.net
    tf_net = networks_tf.TFConvVAE(**kwargs, seed=0)
    zeros = np.zeros((len(batch), kwargs["latent_dim"]), "float32")
    jax_loss, jax_grads = jax.value_and_grad(net.loss_with_noise)(net.state[0], loop.data, zeros)
    with tf.GradientTape() as tape:
        tf_loss = tf_net.loss(tf.constant(batch), eps=tf.constant(zeros))
    tf_grads = tape.gradient(tf_loss, tf_net.params)
    np.testing.assert_allclose(float(jax_loss), float(tf_loss), rtol=1e-5)
    jax_norm = np.sqrt(sum(float(np.sum(np.square(g))) for g in jax.tree.leaves(jax_grads)))
    tf_norm = np.sqrt(sum(float(tf.reduce_sum(tf.square(g))) for g in tf_grads))
    np.testing.assert_allclose(jax_norm, tf_norm, rtol=1e-4)
    before = float(net.loss_with_noise(net.state[0], loop.data, zeros))
    loop.train(1)
    after = float(net.loss_with_noise(net.state[0], loop.data, zeros))
    assert np.isfinite(before) and after < before


def test_flop_counter_single_dense_layer():
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(5)])
    assert flops.model_macs(model) == {model.layers[0].name: 50}
    assert flops.forward_flops(model) == 100  # 2 * in * out, bias not counted
    assert flops.training_flops(model) == 300


def test_flop_counter_conv_vae_by_hand():
    import kerasae

    macs = flops.model_macs(kerasae.build("vae", **common.VAE_KWARGS))
    assert macs == {
        "encoder_conv_0": 14 * 14 * 9 * 1 * 32,
        "encoder_conv_1": 7 * 7 * 9 * 32 * 64,
        "encoder_mean": 3136 * 16,
        "encoder_log_var": 3136 * 16,
        "decoder_project": 16 * 3136,
        "decoder_deconv_0": 7 * 7 * 9 * 64 * 64,  # input pixels x kernel
        "decoder_deconv_1": 14 * 14 * 9 * 64 * 32,
        "decoder_output": 28 * 28 * 9 * 32 * 1,
    }


def test_timing_helpers():
    stats = timing.summarize([3.0, 1.0, 2.0, 10.0])
    assert (stats.median, stats.min, stats.max, stats.n) == (2.5, 1.0, 10.0, 4)
    assert timing.paired_ratios([2.0, 6.0], [1.0, 3.0]) == [2.0, 2.0]
    calls = []
    seconds = timing.interleave({"a": lambda: calls.append("a"),
                                 "b": lambda: calls.append("b")}, repeats=2)
    assert calls == ["a", "b", "b", "a"] and len(seconds["a"]) == 2
    assert timing.parse("noise\n" + timing.MARKER + '{"x": 1}\n') == {"x": 1}
    assert report.num(1234.5678) == "1,235" and report.num(0.012345) == "0.012"


def test_tf_modes_report_counts_slow_epochs_that_load_does_not_explain():
    """An epoch on ~1 core while the rest of the machine idled is slow; one on ~1 core while
    other processes used the other core is load, not the slow mode."""
    from benchmarks import tf_modes

    def epoch(cores: float, others: float) -> dict:
        return {"samples_per_s": 2000.0, "cores": cores, "cpu_ms_per_step": 60.0,
                "other_cores": others, "busiest_thread_share": 0.46}

    epochs = [epoch(1.8, 0.0), epoch(1.1, 0.01), epoch(1.0, 1.0)]
    text = report.tf_modes_section({"net": "28", "batch_size": 128, "rounds": 1,
                                    "epochs_per_process": 3, "steps_per_epoch": 8,
                                    "configs": {"default": epochs},
                                    "summary": {"default": tf_modes.summarize(epochs)}})
    assert "| 1 of 3 |" in text


def test_every_speed_variant_of_this_backend_builds_and_matches_the_default(batch):
    """Section 6's variants are the default model with one thing changed: each builds, has the
    default's parameter count and trains a step (the decoder-swapping ones once failed to
    build and section 6 lost its torch table)."""
    from benchmarks import speed

    for name, spec in speed.VARIANTS[keras.backend.backend()]:
        model = speed.build_variant(spec)
        assert common.trainable_count(model) == CONV_VAE_PARAMS, name
        history = model.fit(batch, batch_size=16, epochs=1, verbose=0, steps_per_epoch=1)
        assert np.isfinite(history.history["loss"][-1]), name


def test_guard_cost_is_measured_on_a_trained_model_and_reported():
    import kerasae
    from benchmarks import recipes_bench

    model = kerasae.build("ae", input_shape=(8,), latent_dim=2)
    model.compile(optimizer="adam")
    model.fit(np.random.default_rng(0).random((16, 8)).astype("float32"), epochs=1, verbose=0)
    seconds = recipes_bench.guard_check_seconds(model, repeats=3)
    assert 0 < seconds < 5
    row = {"guard_ms_per_epoch": 2.5, "guard_share_of_epoch": 0.0004}
    assert report._guard_cell(row) == "2.50 (0.040%)"
    assert report._guard_cell({}) == "-"  # older runs kept in RESULTS.md have no guard column


def test_training_report_gives_each_reference_loop_its_column():
    """The JAX process also times a hand-written JAX loop: its ratio gets its own column, left
    blank for backends that did not run it."""
    stats = {"median": 1.0, "q1": 0.9, "q3": 1.1, "min": 0.8, "max": 1.2}

    def result(refs):
        return {"batch_size": 8, "params": {"kerasae": 1}, "steps": {"kerasae fit": 3},
                "samples_per_s": {"kerasae fit": stats},
                "ratios": {f"kerasae / {ref}": dict(stats, median=0.5 + i)
                           for i, ref in enumerate(refs)}}

    text = report.training_section(
        {"tensorflow": result(["TF loop", "torch loop"]),
         "jax": result(["TF loop", "torch loop", "JAX loop"])}, None, "skipped")
    header = next(line for line in text.splitlines() if line.startswith("| Keras backend"))
    assert header.split(" | ")[1:] == ["kerasae fit / TF loop", "kerasae fit / torch loop",
                                       "kerasae fit / JAX loop |"]
    rows = {line.split(" | ")[0]: line for line in text.splitlines()
            if line.startswith(("| tensorflow", "| jax"))}
    assert rows["| jax"].count("**") == 6 and "**2.50**" in rows["| jax"]
    assert rows["| tensorflow"].count("**") == 4 and rows["| tensorflow"].endswith("|  |")
