"""The tf.data options kerasae gives the pipeline Keras builds from numpy arrays.

On TensorFlow, `fit(x_numpy)` runs Keras' array pipeline: a parallel `map` that gathers each
batch, `prefetch(AUTOTUNE)`, tf.data's autotuner and its thread pool beside TensorFlow's own
intra-op and inter-op pools. On 2 CPU cores those pools fight: epochs drop at random from ~1.8
cores used to ~1.4 (or ~1) while the other core idles. Running that pipeline on a private pool
of one thread with the autotuner off removes the drops (benchmarks/RESULTS.md, section 8: in
interleaved runs the cores used per epoch never fell below 1.76, against 1.37 for Keras'
options). Gathering a batch from memory is a copy, so one thread keeps up on any machine.

Only scheduling changes: the same batches arrive in the same order (the shuffle is drawn by
the same random op; a parallel map keeps its order), so weights and losses are unchanged.
Datasets, generators and PyDatasets the user passes keep their own options. Set
`KERASAE_STEADY_PIPELINE=0` to give Keras' array pipeline its default options back.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from collections.abc import Iterator

import keras

_ACTIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("kerasae_steady_pipeline",
                                                               default=False)


def enabled() -> bool:
    """On TensorFlow unless `KERASAE_STEADY_PIPELINE=0` (read at each call)."""
    return (keras.backend.backend() == "tensorflow"
            and os.environ.get("KERASAE_STEADY_PIPELINE", "1").strip() != "0")


def steady_options():
    """tf.data.Options: one private thread, no autotuning."""
    import tensorflow as tf

    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.autotune.enabled = False
    return options


@contextlib.contextmanager
def steady_array_pipeline() -> Iterator[None]:
    """Within this block, the pipelines Keras builds from arrays (in this thread or context)
    take `steady_options()`; everything else, other models included, is untouched."""
    if not enabled() or not _install():
        yield
        return
    token = _ACTIVE.set(True)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


@functools.cache
def _install() -> bool:
    """Wrap Keras' `ArrayDataAdapter.get_tf_dataset` once; the wrapper acts only inside
    `steady_array_pipeline`. False (nothing changed) if this Keras has no such adapter."""
    try:
        from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
    except ImportError:
        return False
    original = ArrayDataAdapter.get_tf_dataset

    @functools.wraps(original)
    def get_tf_dataset(self):
        dataset = original(self)
        return dataset.with_options(steady_options()) if _ACTIVE.get() else dataset

    ArrayDataAdapter.get_tf_dataset = get_tf_dataset
    return True
