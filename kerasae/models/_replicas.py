"""The replica rules of a model's loss and logs under tf.distribute (see kerasae.distribute,
which sets distributed training up): a no-op on one device, on JAX and on PyTorch."""

from __future__ import annotations

from typing import Any

import keras


def _backend() -> str:
    return keras.backend.backend()


def replica_count() -> int:
    """How many replicas each compute a share of the batch: >1 only inside a tf.distribute
    strategy (JAX's DataParallel runs one program over the global batch, so it counts 1)."""
    if _backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return int(tf.distribute.get_strategy().num_replicas_in_sync)


def scale_loss_for_replicas(loss: Any) -> Any:
    """The per-replica loss divided by the replica count, so that the SUM of the replicas'
    gradients (what Keras' TF optimizer all-reduces) is the gradient of the global batch mean.

    The same rule as Keras' own losses (`keras/src/losses/loss.py`,
    `scale_loss_for_distribution`); Keras' TF train step multiplies the returned loss back by
    the replica count before logging it. A no-op on one device and on JAX and PyTorch.
    """
    count = replica_count()
    if count > 1:
        loss = keras.ops.multiply(loss, keras.ops.cast(1.0 / count, loss.dtype))
    return loss


def multi_worker_logs(logs: dict) -> dict:
    """A train or test step's logs as Keras 3's TF trainer can reduce them across workers.

    Under a multi-worker MultiWorkerMirroredStrategy, `reduce_per_replica` (keras/src/backend/
    tensorflow/trainer.py) averages the replicas' logs with `strategy.reduce("MEAN", v,
    axis=0)`, which fails on scalars ("Invalid reduction dimension 0 for input with 0
    dimensions", tensorflow/tensorflow#72388); as 1-vectors they reduce to the same scalar.
    Unchanged everywhere else. The epoch's logs are read from the metrics themselves.
    """
    if _backend() != "tensorflow":
        return logs
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and getattr(
        strategy.extended, "_in_multi_worker_mode", lambda: False)()  # Keras' own test
    if not multi_worker:
        return logs
    return {key: keras.ops.reshape(value, (1,)) for key, value in logs.items()}
