"""Section 8: TensorFlow's slow mode. `fit` on 2 cores flips, epoch to epoch, between a fast
and a slow throughput; this measures every epoch of several configurations, each in its own
fresh process (thread pools are fixed at start-up), the processes interleaved in time (round r
runs every configuration once, in an order rotated each round).

    python -m benchmarks.tf_modes run --net 28 --configs default,spe8,tfloop --rounds 3

Per epoch it records samples/s, the process's CPU-seconds per step and cores used (os.times),
the cores the rest of the machine used meanwhile (/proc/stat minus this process: load that can
explain a slow epoch), and the CPU-seconds of each of the process's threads by name
(/proc/self/task), which shows which pool did the work.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import common, timing

ROOT = Path(__file__).resolve().parents[1]

# name -> (environment, how the worker trains). Environment entries are read by TensorFlow at
# start-up; the worker options are applied in the process. "default" is kerasae's compile
# (steps_per_execution 8 on TensorFlow); the others call Keras' compile on the same model
# (steps_per_execution 1 unless given); "keras fit" also bypasses kerasae's fit (input checks,
# the FiniteLoss callback); "tfloop" is the hand-written tf.function loop.
CONFIGS: dict[str, tuple[dict[str, str], dict]] = {
    "default": ({}, {"kerasae_defaults": True}),  # kerasae's compile: steps_per_execution 8
    # kerasae's compile and fit, with Keras' own options on the array pipeline (before
    # kerasae.models._pipeline)
    "keras pipeline": ({"KERASAE_STEADY_PIPELINE": "0"}, {"kerasae_defaults": True}),
    "spe1": ({}, {"compile": {"steps_per_execution": 1}}),  # Keras' compile default (before)
    "spe8": ({}, {"compile": {"steps_per_execution": 8}}),
    "intra1": ({"TF_NUM_INTRAOP_THREADS": "1"}, {}),
    "inter1": ({"TF_NUM_INTEROP_THREADS": "1"}, {}),
    "inter1+spe8": ({"TF_NUM_INTEROP_THREADS": "1"}, {"compile": {"steps_per_execution": 8}}),
    "onednn off": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, {}),
    "tf.data plain": ({}, {"dataset": "plain"}),
    "tf.data plain+spe8": ({}, {"dataset": "plain", "compile": {"steps_per_execution": 8}}),
    "jit": ({}, {"compile": {"jit_compile": True}}),
    "keras fit": ({}, {"plain_keras": True, "compile": {"steps_per_execution": 1}}),
    "tfloop": ({}, {"tfloop": True}),
    "pinned": ({}, {"pin": True}),
}


def pin_pool_threads() -> dict[str, int]:
    """Pin each of TensorFlow's unnamed pool threads (the intra-op Eigen pool) to its own core,
    round robin, and the rest of the process to all cores: a test of whether the scheduler
    stacking the pool's threads on one core is the slow mode. Returns thread -> core."""
    cores = sorted(os.sched_getaffinity(0))
    pinned, k = {}, 0
    for task in sorted(Path("/proc/self/task").iterdir(), key=lambda p: int(p.name)):
        name = (task / "comm").read_text().strip()
        if task.name != str(os.getpid()) and name == "python":
            core = cores[k % len(cores)]
            os.sched_setaffinity(int(task.name), {core})
            pinned[f"{name}:{task.name}"], k = core, k + 1
    return pinned


def _net_kwargs(net: str) -> tuple[dict, int]:
    """(kerasae.build arguments, batch size) of the 28x28 canonical VAE or the 64x64 net of
    the dSprites presets."""
    if net == "28":
        return dict(common.VAE_KWARGS, variant="vae"), 128
    return dict(common.DSPRITES_KWARGS, variant="beta_vae"), 64


def _thread_times() -> dict[str, float]:
    """CPU-seconds so far of each of this process's threads: "main" for the Python thread,
    else the thread's name and id (TensorFlow's intra-op threads are unnamed: "python")."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            text = (task / "stat").read_text()
        except OSError:
            continue
        name = "main" if task.name == str(os.getpid()) else (
            f"{text[text.index('(') + 1 : text.rindex(')')]}:{task.name}")
        fields = text[text.rindex(")") + 2 :].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _machine_busy() -> float:
    """CPU-seconds all cores have been busy since boot (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class EpochMeter:
    """Wall time, own CPU time, the machine's busy time and per-thread CPU of one epoch."""

    def start(self) -> None:
        t = os.times()
        self.t0, self.cpu0 = time.perf_counter(), t.user + t.system
        self.busy0, self.threads0 = _machine_busy(), _thread_times()

    def stop(self, samples: int, steps: int) -> dict:
        t = os.times()
        wall = time.perf_counter() - self.t0
        cpu = t.user + t.system - self.cpu0
        busy = _machine_busy() - self.busy0
        threads = {k: v - self.threads0.get(k, 0.0) for k, v in _thread_times().items()}
        threads = {k: round(v, 3) for k, v in sorted(threads.items(), key=lambda kv: -kv[1])
                   if v >= 0.01}
        top = max(threads.values(), default=0.0)
        return {"samples_per_s": samples / wall, "cores": cpu / wall,
                "busiest_thread_share": top / cpu if cpu > 0 else 0.0,
                "cpu_ms_per_step": 1000 * cpu / steps,
                "other_cores": max(0.0, (busy - cpu) / wall), "threads": threads}


def worker(config: str, net: str, epochs: int, steps: int) -> dict:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    import kerasae

    _, spec = CONFIGS[config]
    build, batch = _net_kwargs(net)
    shape = build["input_shape"]
    x = (np.random.default_rng(0).random((steps * batch, *shape)) < 0.3).astype("float32")
    meter, rows = EpochMeter(), []
    if spec.get("tfloop"):
        from benchmarks.networks_tf import TFLoop

        loop = TFLoop(x, batch, **_tf_loop_kwargs(build))
        loop.train(steps)  # warm-up: tracing
        for _ in range(epochs):
            meter.start()
            loop.train(steps)
            rows.append(meter.stop(steps * batch, steps))
        return {"epochs": rows}
    variant = build.pop("variant")
    model = kerasae.build(variant, seed=0, **build)
    if spec.get("kerasae_defaults"):
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
    else:  # Keras' compile itself: only the options given differ from Keras' defaults
        keras.Model.compile(model, optimizer=keras.optimizers.Adam(1e-3),
                            **spec.get("compile", {}))
    data = x
    if spec.get("dataset") == "plain":
        options = tf.data.Options()
        options.autotune.enabled = False
        options.threading.private_threadpool_size = 1
        options.experimental_optimization.apply_default_optimizations = False
        data = tf.data.Dataset.from_tensor_slices(x).batch(batch).prefetch(1)
        data = data.with_options(options)

    class Meter(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            meter.start()

        def on_epoch_end(self, epoch, logs=None):
            rows.append(meter.stop(steps * batch, steps))

    fit = (lambda *a, **k: keras.Model.fit(model, *a, **k)) if spec.get("plain_keras") \
        else model.fit
    kwargs = {} if spec.get("dataset") else {"batch_size": batch}
    fit(data, epochs=1, verbose=0, **kwargs)  # warm-up: tracing (and TF's pools start)
    pinned = pin_pool_threads() if spec.get("pin") else None
    fit(data, epochs=epochs, verbose=0, callbacks=[Meter()], **kwargs)
    return {"epochs": rows, "pinned": pinned}


def _tf_loop_kwargs(build: dict) -> dict:
    return {k: build[k] for k in ("latent_dim", "filters") if k in build}


def run(configs: list[str], net: str, rounds: int, epochs: int, steps: int) -> dict:
    """Every configuration once per round, each in a fresh process, order rotated."""
    out: dict[str, list[dict]] = {c: [] for c in configs}
    for r in range(rounds):
        shift = r % len(configs)
        for config in configs[shift:] + configs[:shift]:
            env_extra, _ = CONFIGS[config]
            env = {**os.environ, "PYTHONPATH": str(ROOT), "KERAS_BACKEND": "tensorflow",
                   "TF_CPP_MIN_LOG_LEVEL": "3", **env_extra}
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.tf_modes", "worker", "--config", config,
                 "--net", net, "--epochs", str(epochs), "--steps", str(steps)],
                cwd=ROOT, env=env, capture_output=True, text=True, check=False)
            if proc.returncode:
                raise RuntimeError(f"{config}: {proc.stderr[-2000:]}")
            result = timing.parse(proc.stdout)
            for e in result["epochs"]:
                e["round"] = r
            out[config] += result["epochs"]
            rates = [round(e["samples_per_s"]) for e in result["epochs"]]
            cores = [round(e["cores"], 2) for e in result["epochs"]]
            share = [round(e["busiest_thread_share"], 2) for e in result["epochs"]]
            print(f"round {r} {config}: {rates} cores {cores} busiest thread {share} "
                  f"load {os.getloadavg()[0]:.2f}",
                  file=sys.stderr, flush=True)
    return {"net": net, "epochs_per_process": epochs, "steps_per_epoch": steps,
            "rounds": rounds, "batch_size": _net_kwargs(net)[1],
            "load_at_end": os.getloadavg(), "configs": out,
            "summary": {c: summarize(rows) for c, rows in out.items()}}


def summarize(rows: list[dict]) -> dict:
    return {key: timing.summarize([e[key] for e in rows]).as_dict()
            for key in ("samples_per_s", "cores", "cpu_ms_per_step", "other_cores",
                        "busiest_thread_share")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=("run", "worker"))
    parser.add_argument("--config", default="default")
    parser.add_argument("--configs", default="default,spe8,tfloop")
    parser.add_argument("--net", choices=("28", "64"), default="28")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=48)
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args(argv)
    if args.mode == "worker":
        timing.emit(worker(args.config, args.net, args.epochs, args.steps))
        return
    result = run(args.configs.split(","), args.net, args.rounds, args.epochs, args.steps)
    if args.json:
        args.json.write_text(json.dumps(result))
    timing.emit(result)


if __name__ == "__main__":
    main()
