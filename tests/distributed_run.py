"""Helper for test_distribute.py, run as a subprocess (not a test): the device count must be
fixed before the backend starts, which a pytest process has long done.

    KERAS_BACKEND=jax python distributed_run.py VARIANT [VARIANT ...]
    KERAS_BACKEND=jax python distributed_run.py --worker INDEX PORT [PORT] VARIANT
    KERAS_BACKEND=jax python distributed_run.py --check-multi-host

The first form splits the CPU into two virtual devices, then trains each variant twice from
the same initial weights on the same fixed data with SGD: on one device, then data-parallel on
both devices (kerasae.distribute.distribution_scope, as scripts/train.py does). The second is
one of two processes on this host training a variant as a two-worker cluster ("multi_worker",
one CPU device each; JAX joins through localhost:PORT, TensorFlow's workers listen on the two
PORTs), with the same seed, hence the same initial weights, as the first form's runs. The
third starts two such workers and a one-device run and checks they train the same "ae"
(about a minute; kept out of the pytest suite for time).
The last line printed is JSON: per variant and run, the Keras history, the final weights and
the training_step.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np

import kerasae
from kerasae import distribute

DEVICES = ["cpu:0", "cpu:1"]
BUILD = {"input_shape": (8,), "latent_dim": 2, "hidden_units": (16,)}


def train(variant: str, mode: str, initial: list | None) -> dict:
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(64, 8)).astype("float32")
    validation = rng.uniform(size=(32, 8)).astype("float32")
    devices = DEVICES if mode == "data_parallel" else None
    with distribute.distribution_scope(mode, devices) as placement:
        keras.utils.set_random_seed(0)
        model = kerasae.build(variant, **BUILD, **({"seed": 0} if variant == "vae" else {}))
        if initial is not None:
            model.set_weights(initial)
        start = [np.asarray(w) for w in model.get_weights()]
        model.compile(optimizer=keras.optimizers.SGD(0.1))
        if placement.workers > 1 and keras.backend.backend() == "jax":  # as train.py does
            history = model.fit(distribute.global_batches(x, 16), epochs=2,
                                validation_data=distribute.global_batches(validation, 16),
                                verbose=0)
        else:
            history = model.fit(x, batch_size=16, epochs=2, shuffle=False,
                                validation_data=(validation,), verbose=0)
        kernel = model.trainable_weights[0].value
        sharding = getattr(kernel, "sharding", None)  # JAX: the devices holding the weights
        return {
            "replicas": placement.replicas,
            "worker": placement.worker,
            "workers": placement.workers,
            "is_chief": placement.is_chief,
            "weight_devices": len(sharding.device_set) if sharding is not None else None,
            "initial": start,
            "history": history.history,
            "weights": [np.asarray(w).tolist() for w in model.get_weights()],
            "training_step": float(keras.ops.convert_to_numpy(model.training_step))
            if hasattr(model, "training_step") else None,
        }


def main(variants: list[str]) -> dict:
    distribute.use_virtual_cpus(len(DEVICES))
    results = {}
    for variant in variants:
        single = train(variant, "none", None)
        multi = train(variant, "data_parallel", single.pop("initial"))
        multi.pop("initial")
        results[variant] = {"single": single, "multi": multi}
    return results


def worker(index: int, ports: list[str], variant: str) -> dict:
    if keras.backend.backend() == "jax":
        os.environ.update(KERAS_DISTRIBUTION_JOB_ADDRESSES=f"localhost:{ports[0]}",
                          KERAS_DISTRIBUTION_NUM_PROCESSES="2",
                          KERAS_DISTRIBUTION_PROCESS_ID=str(index))
    else:
        os.environ["TF_CONFIG"] = json.dumps({
            "cluster": {"worker": [f"localhost:{port}" for port in ports]},
            "task": {"type": "worker", "index": index}})
    result = train(variant, "multi_worker", None)
    result.pop("initial")
    return {variant: {"multi_worker": result}}


def _free_ports(count: int) -> list[str]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [str(s.getsockname()[1]) for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _last_json(args: list[str]) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          timeout=300)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_multi_host() -> str:
    """Two worker processes on this host match one device (scripts/train.py --distribute
    multi_worker's path: JAX through keras.distribution.initialize(), TF through TF_CONFIG)."""
    ports = _free_ports(1 if keras.backend.backend() == "jax" else 2)
    workers = [subprocess.Popen([sys.executable, __file__, "--worker", str(i), *ports, "ae"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(2)]
    outputs = [w.communicate(timeout=300) for w in workers]
    for w, (_, err) in zip(workers, outputs, strict=True):
        if w.returncode != 0:
            raise SystemExit(err[-3000:])
    single = _last_json(["ae"])["ae"]["single"]
    results = [json.loads(out.strip().splitlines()[-1])["ae"]["multi_worker"]
               for out, _ in outputs]
    roles = [(r["worker"], r["workers"], r["is_chief"]) for r in results]
    assert roles == [(0, 2, True), (1, 2, False)], roles
    for result in results:
        for key, values in single["history"].items():
            np.testing.assert_allclose(result["history"][key], values, rtol=1e-4, atol=1e-6)
        for got, want in zip(result["weights"], single["weights"], strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    return f"two workers match one device on {keras.backend.backend()}: {single['history']}"


if __name__ == "__main__":
    if sys.argv[1] == "--check-multi-host":
        print(check_multi_host())
    elif sys.argv[1] == "--worker":
        *ports, variant = sys.argv[3:]
        print(json.dumps(worker(int(sys.argv[2]), ports, variant)))
    else:
        print(json.dumps(main(sys.argv[1:])))
