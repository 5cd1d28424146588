"""Data-parallel training on the engines the backends ship, not a home-made one.

- JAX: `keras.distribution.DataParallel` over every device (all hosts' devices after
  `keras.distribution.initialize()`); the train step is one SPMD program over the global batch,
  so the loss needs no rescaling.
- TensorFlow: `tf.distribute.MirroredStrategy` (one host) or `MultiWorkerMirroredStrategy`
  (several hosts, configured by $TF_CONFIG). Each replica computes the loss of its share of the
  batch and the optimizer SUMS the replicas' gradients, so the per-replica loss is divided by
  the replica count (`scale_loss_for_replicas`, which `Autoencoder.compute_loss` applies).
- PyTorch: Keras has no distribution for it; asking for one raises.

Build and compile the model, and fit it, inside `distribution_scope(mode)`.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import keras

# The loss and log rules live beside the model that applies them (the models know nothing of
# this module); re-exported here, where distributed training is set up.
from kerasae.models._replicas import (  # noqa: F401
    multi_worker_logs,
    replica_count,
    scale_loss_for_replicas,
)

MODES = ("none", "data_parallel", "multi_worker")


def _backend() -> str:
    return keras.backend.backend()


def _check_supported(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"distribution mode must be one of {MODES}; got {mode!r}.")
    if mode != "none" and _backend() not in ("jax", "tensorflow"):
        raise ValueError(
            f"distributed training ({mode!r}) is not supported on the {_backend()} backend: "
            "Keras offers keras.distribution on JAX and tf.distribute on TensorFlow only. "
            "Use KERAS_BACKEND=jax or KERAS_BACKEND=tensorflow, or train on one device."
        )


def use_virtual_cpus(count: int) -> None:
    """Split the host CPU into `count` devices, to try multi-device training without
    accelerators (tests do). Must run before the backend starts: JAX reads $XLA_FLAGS when it
    first lists devices, TensorFlow fixes its logical devices when it first runs an op."""
    if count < 1:
        raise ValueError(f"count must be at least 1; got {count}.")
    backend = _backend()
    if backend == "jax":
        flag = "--xla_force_host_platform_device_count"
        flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if not f.startswith(flag)]
        os.environ["XLA_FLAGS"] = " ".join([*flags, f"{flag}={count}"])
        import jax

        if len(jax.devices("cpu")) != count:
            raise RuntimeError(
                f"JAX has already started with {len(jax.devices('cpu'))} CPU device(s); call "
                f"use_virtual_cpus({count}) (or set XLA_FLAGS={flag}={count}) before any JAX "
                "computation."
            )
    elif backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * count)
        except RuntimeError as error:
            raise RuntimeError(
                f"TensorFlow has already started; call use_virtual_cpus({count}) before any "
                "TensorFlow computation."
            ) from error
    else:
        _check_supported("data_parallel")


def tf_strategy(mode: str, devices: list[str] | None = None):
    """The tf.distribute strategy for `mode`: MirroredStrategy over `devices` (default: every
    GPU, else every CPU device) or MultiWorkerMirroredStrategy, which reads $TF_CONFIG.

    One strategy per process and devices, reused: with a second MirroredStrategy over the same
    CPU devices in one process, its all-reduces failed ("Shape mismatch in the collective
    instance"), and a multi-worker strategy must be created once, at program start."""
    if mode == "multi_worker":
        if devices is not None:
            raise ValueError("multi_worker takes its workers from $TF_CONFIG, not devices=.")
        return _tf_strategy(mode, None)
    import tensorflow as tf

    if devices is None:
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
            d.name for d in tf.config.list_logical_devices("CPU")]
    devices = [d if d.startswith("/") else "/" + d for d in devices]  # Keras' "cpu:0" style
    return _tf_strategy(mode, tuple(devices))


@functools.cache
def _tf_strategy(mode: str, devices: tuple[str, ...] | None):
    import tensorflow as tf

    if mode == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.MirroredStrategy(None if devices is None else list(devices))


def jax_distribution(mode: str, devices: list[str] | None = None):
    """keras.distribution.DataParallel over `devices` (default: every accelerator of every
    host, else every CPU device). With `multi_worker`, first joins the cluster through
    keras.distribution.initialize(), configured by $KERAS_DISTRIBUTION_JOB_ADDRESSES,
    $KERAS_DISTRIBUTION_NUM_PROCESSES and $KERAS_DISTRIBUTION_PROCESS_ID (or the cloud TPU
    environment)."""
    if mode == "multi_worker":
        keras.distribution.initialize()
    return keras.distribution.DataParallel(
        devices=devices or keras.distribution.list_devices())


@dataclass(frozen=True)
class Placement:
    """Where a distributed run trains: `replicas` devices share each global batch; this
    process is worker `worker` of `workers` (hosts), and `is_chief` says whether it is the one
    that writes the results."""

    mode: str
    replicas: int = 1
    worker: int = 0
    workers: int = 1
    is_chief: bool = True


@contextlib.contextmanager
def distribution_scope(mode: str = "none",
                       devices: list[str] | None = None) -> Iterator[Placement]:
    """Context in which to build, compile and fit a model on several devices; yields its
    `Placement`. Enter it first thing: a multi-worker run must join its cluster before any
    computation.

    mode: "none" (the default device), "data_parallel" (every local device, or `devices`,
    e.g. ["cpu:0", "cpu:1"]) or "multi_worker" (every device of every host). The batch size
    given to fit stays the GLOBAL batch size; each device gets an equal share of it.
    """
    _check_supported(mode)
    if mode == "none":
        yield Placement(mode)
    elif _backend() == "jax":
        distribution = jax_distribution(mode, devices)
        import jax

        with distribution.scope():
            yield Placement(mode, int(distribution.device_mesh.devices.size),
                            jax.process_index(), jax.process_count(), jax.process_index() == 0)
    else:
        strategy = tf_strategy(mode, devices)
        worker, workers = 0, 1
        resolver = getattr(strategy, "cluster_resolver", None)
        if mode == "multi_worker" and resolver is not None and resolver.cluster_spec().jobs:
            spec = resolver.cluster_spec()
            tasks = [(job, i) for job in ("chief", "worker") if job in spec.jobs
                     for i in range(spec.num_tasks(job))]
            worker, workers = tasks.index((resolver.task_type, resolver.task_id)), len(tasks)
        with strategy.scope():
            yield Placement(mode, int(strategy.num_replicas_in_sync), worker, workers,
                            bool(strategy.extended.should_checkpoint))


def global_batches(data: Any, batch_size: int, seed: int | None = None):
    """Arrays (or a list of arrays for conditional models) as a tf.data.Dataset of global
    batches, shuffled at every epoch when a seed is given, for multi-process JAX: Keras'
    DataParallel splits a tf.data.Dataset between the processes by itself (each then feeds its
    devices) and refuses numpy arrays there. The seed makes every process shuffle alike, and
    the last incomplete batch is dropped so that every process runs the same number of steps."""
    import tensorflow as tf

    arrays = tuple(data) if isinstance(data, (list, tuple)) else data
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if seed is not None:
        dataset = dataset.shuffle(len(dataset), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    if isinstance(arrays, tuple):  # [x, labels] is the model's input, not (x, y)
        dataset = dataset.map(lambda *parts: (parts,))
    return dataset.prefetch(tf.data.AUTOTUNE)
