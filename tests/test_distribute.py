"""Data-parallel training (kerasae.distribute, scripts/train.py --distribute) on two virtual CPU
devices gives the single-device losses and weights.

Every pytest run checks each engine in a subprocess of its own backend (the device count is
fixed when the backend starts): TensorFlow a MirroredStrategy, JAX keras.distribution's
DataParallel, PyTorch the clear error. The two-process multi-host run is checked by
`python tests/distributed_run.py --check-multi-host` (about a minute; see the README).
On TensorFlow the deterministic "ae" must match exactly: a missing or
doubled 1/replicas scaling of the loss doubles or halves the gradients and the logged loss.
A VAE cannot match there (each replica draws its own noise from the same seed), so it is held
to loss == reconstruction_loss + kl_loss, which the same scaling error breaks. Under JAX the
train step is one program over the global batch, noise included, so the VAE matches too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from project_scripts import load_script

from kerasae import distribute

HERE = Path(__file__).resolve().parent
BACKEND = keras.backend.backend()
RTOL, ATOL = 1e-4, 1e-6


def subprocess_env(backend: str) -> dict:
    """`backend`, on CPU only, with the default device count."""
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu",
           "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    for name in ("XLA_FLAGS", "TF_CONFIG", "KERAS_DISTRIBUTION_JOB_ADDRESSES"):
        env.pop(name, None)
    return env


def one_and_two_device_runs(backend: str) -> dict:
    """Both runs of "ae" and "vae" on `backend`, from tests/distributed_run.py. The engines are
    checked whatever backend this pytest process runs: each lives in its own subprocess."""
    done = subprocess.run([sys.executable, str(HERE / "distributed_run.py"), "ae", "vae"],
                          env=subprocess_env(backend), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def tf_runs() -> dict:
    return one_and_two_device_runs("tensorflow")


@pytest.fixture(scope="module")
def jax_runs() -> dict:
    return one_and_two_device_runs("jax")


def assert_same_training(single: dict, multi: dict) -> None:
    assert multi["replicas"] == 2 and single["replicas"] == 1
    for key, values in single["history"].items():  # loss, terms, val_loss, ...
        np.testing.assert_allclose(multi["history"][key], values, rtol=RTOL, atol=ATOL,
                                   err_msg=key)
    assert len(multi["weights"]) == len(single["weights"])
    for got, want in zip(multi["weights"], single["weights"], strict=True):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_mirrored_strategy_matches_one_device(tf_runs):
    assert_same_training(tf_runs["ae"]["single"], tf_runs["ae"]["multi"])


def test_mirrored_strategy_logs_the_global_vae_loss(tf_runs):
    single, multi = tf_runs["vae"]["single"], tf_runs["vae"]["multi"]
    for run in (single, multi):
        history = run["history"]
        for prefix in ("", "val_"):
            np.testing.assert_allclose(
                history[prefix + "loss"],
                np.add(history[prefix + "reconstruction_loss"], history[prefix + "kl_loss"]),
                rtol=RTOL)
    assert multi["training_step"] == single["training_step"] == 8.0  # 2 epochs x 4 batches
    # Other noise, same objective: the two runs stay close (a 2x gradient would not).
    np.testing.assert_allclose(multi["history"]["loss"], single["history"]["loss"], rtol=0.05)


@pytest.mark.parametrize("variant", ["ae", "vae"])
def test_data_parallel_matches_one_device(jax_runs, variant):
    single, multi = jax_runs[variant]["single"], jax_runs[variant]["multi"]
    assert multi["weight_devices"] == 2 and single["weight_devices"] == 1
    assert_same_training(single, multi)
    if variant == "vae":
        assert multi["training_step"] == single["training_step"] == 8.0


def test_torch_refuses_clearly():
    check = (
        "import pytest\n"
        "from kerasae import distribute\n"
        "with pytest.raises(ValueError, match='not supported on the torch backend'):\n"
        "    with distribute.distribution_scope('data_parallel'):\n"
        "        pass\n"
        "with pytest.raises(ValueError, match='not supported on the torch backend'):\n"
        "    distribute.use_virtual_cpus(2)\n"
        "print('refused')\n"
    )
    done = subprocess.run([sys.executable, "-c", check], env=subprocess_env("torch"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith("refused"), done.stderr[-3000:]


def test_one_device_is_untouched():
    with distribute.distribution_scope("none") as placement:
        assert placement == distribute.Placement("none")
        assert distribute.replica_count() == 1
        loss = keras.ops.convert_to_tensor(2.5)
        assert float(distribute.scale_loss_for_replicas(loss)) == 2.5


def test_unknown_mode():
    with pytest.raises(ValueError, match="one of"), distribute.distribution_scope("model_parallel"):
        pass


def _train_script():
    return load_script("train")


def test_train_script_distribute_flag(monkeypatch, capsys):
    train_script = _train_script()
    seen = []
    monkeypatch.setattr(train_script, "train", lambda args, placement: seen.append(
        (args.distribute, placement)) or 0)
    preset = sorted(train_script.RECIPES)[0]
    assert train_script.main([preset]) == 0
    assert seen[-1] == ("none", distribute.Placement("none"))
    with pytest.raises(SystemExit):
        train_script.main([preset, "--distribute", "model_parallel"])
    assert "invalid choice" in capsys.readouterr().err
    if BACKEND == "torch":
        with pytest.raises(ValueError, match="not supported on the torch backend"):
            train_script.main([preset, "--distribute", "data_parallel"])
    else:
        assert train_script.main([preset, "--distribute", "data_parallel"]) == 0
        mode, placement = seen[-1]
        assert mode == "data_parallel" and placement.is_chief and placement.replicas >= 1
