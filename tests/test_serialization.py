"""Saving and loading every registered variant of the zoo: .keras files, configs, and weights
saved on one backend loaded on the other two."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from variant_specs import SPECS, fit_inputs, method_kwargs

import kerasae

# Variants with a spec that are registered: new variants are covered as soon as both exist.
REGISTERED = [name for name in SPECS if name in kerasae.variants()]
BACKENDS = ("tensorflow", "jax", "torch")
HELPER = Path(__file__).with_name("cross_backend_check.py")
DETERMINISTIC = {"ae", "linear_ae", "deep_ae", "conv_ae", "lstm_ae", "sparse_ae", "contractive_ae",
                 "denoising_ae"}


def _configs(items) -> list:
    return [(type(item).__name__, item.get_config()) for item in items]


def _plain(config: dict) -> dict:
    """The config as JSON would store it (tuples become lists), for comparisons."""
    return json.loads(json.dumps(config))


def _corruption_config(model):
    corruption = getattr(model, "corruption", None)
    return None if corruption is None else _configs([corruption])


def test_every_deterministic_variant_has_a_spec():
    """Catches a deterministic variant silently left out of the zoo-wide loops below."""
    assert DETERMINISTIC.issubset(REGISTERED)


@pytest.mark.parametrize("name", REGISTERED)
def test_saved_model_reloads_identically_and_keeps_training(name, tmp_path):
    """Catches: a class, variant, option, penalty or corruption setting lost in a .keras round
    trip, weights not restored, or a reloaded model whose optimizer/objective cannot train."""
    model = kerasae.build(name, **SPECS[name]["kwargs"])
    # Two eager steps cost less than tracing a tf.function (JAX and torch: no gain), and
    # run_eagerly is part of the compile config the reloaded model gets back.
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  run_eagerly=keras.backend.backend() == "tensorflow")
    inputs = fit_inputs(name, 64)
    model.fit(inputs, epochs=1, batch_size=32, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)

    assert type(loaded) is type(model)
    assert loaded.variant == model.variant == name
    assert loaded.options == model.options
    assert _configs(getattr(loaded, "penalties", [])) == _configs(getattr(model, "penalties", []))
    assert _corruption_config(loaded) == _corruption_config(model)
    assert _plain(loaded.get_config()) == _plain(model.get_config())

    x, kwargs = SPECS[name]["data"](20, seed=5), method_kwargs(name, 20, seed=5)
    np.testing.assert_allclose(loaded.reconstruct(x, **kwargs), model.reconstruct(x, **kwargs),
                               atol=1e-6)

    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 2
    history = loaded.fit(inputs, epochs=1, batch_size=32, verbose=0).history
    assert np.isfinite(history["loss"][0])
    assert int(loaded.optimizer.iterations) == 4


@pytest.mark.parametrize("name", REGISTERED)
def test_config_round_trip_rebuilds_the_same_model(name):
    """Catches: get_config output that is not JSON-able or that from_config cannot rebuild into
    the same architecture, options and parts."""
    model = kerasae.build(name, **SPECS[name]["kwargs"])
    config = _plain(model.get_config())
    rebuilt = type(model).from_config(copy.deepcopy(config))
    assert type(rebuilt) is type(model)
    assert rebuilt.variant == name
    assert rebuilt.options == model.options
    assert _plain(rebuilt.get_config()) == config
    assert [tuple(w.shape) for w in rebuilt.weights] == [tuple(w.shape) for w in model.weights]


def test_weights_load_on_the_other_backends(tmp_path):
    """Catches: weight files whose layout or names depend on the backend that saved them, or a
    variant that computes something different on another backend with the same weights."""
    tolerance = 1e-5
    arrays = {}
    for name in REGISTERED:
        keras.utils.set_random_seed(1)
        model = kerasae.build(name, **SPECS[name]["kwargs"])
        model.save_weights(tmp_path / f"{name}.weights.h5")
        x = SPECS[name]["data"](6, seed=3)
        kwargs = method_kwargs(name, 6, seed=3)
        arrays[f"{name}__x"] = x
        if kwargs:
            arrays[f"{name}__condition"] = kwargs["condition"]
        arrays[f"{name}__encode"] = model.encode(x, **kwargs)
        arrays[f"{name}__reconstruct"] = model.reconstruct(x, **kwargs)
    np.savez(tmp_path / "expected.npz", **arrays)
    manifest = {"variants": REGISTERED, "tolerance": tolerance,
                "saved_on": keras.backend.backend()}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))

    others = [b for b in BACKENDS if b != keras.backend.backend()]
    procs = {}
    for backend in others:  # both at once, one per core
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        if backend == "jax":  # halves XLA's compile time for these tiny graphs, same results;
            # the default compile is what the JAX run of this test saves from
            flags = env.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
            env["XLA_FLAGS"] = flags.strip()
        procs[backend] = subprocess.Popen(
            [sys.executable, str(HELPER), str(tmp_path)], env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
    try:
        outputs = {backend: proc.communicate(timeout=540) for backend, proc in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    for backend, (stdout, stderr) in outputs.items():
        lines = stdout.strip().splitlines()
        assert lines, f"{backend}: no output; stderr:\n{stderr[-3000:]}"
        summary = json.loads(lines[-1])
        failed = {k: v for k, v in summary["variants"].items() if not v["ok"]}
        assert procs[backend].returncode == 0, f"{backend}: {failed}\nstderr:\n{stderr[-3000:]}"
        assert summary["backend"] == backend
        assert sorted(summary["variants"]) == sorted(REGISTERED)
        assert summary["ok"] and not failed


@pytest.mark.parametrize("name", sorted(DETERMINISTIC))
def test_from_config_leaves_the_config_intact(name):
    """Catches from_config consuming the caller's dict (Keras' deserialisation empties nested
    configs in place): the same config must rebuild a model twice."""
    config = kerasae.build(name, **SPECS[name]["kwargs"]).get_config()
    before = _plain(config)
    first = kerasae.Autoencoder.from_config(config)
    assert _plain(config) == before
    second = kerasae.Autoencoder.from_config(config)
    assert first.options == second.options == before["options"]
