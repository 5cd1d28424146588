"""`steps_per_execution`, the one training default kerasae sets that Keras does not.

On TensorFlow, `compile()` defaults it to 8: each call of the compiled training function runs 8
steps, so Python's per-step dispatch (the data iterator, callbacks, the function call) is paid
once per 8 steps. On 2 CPU cores that brought `fit`'s CPU time per step from 1.09x to 1.02x the
hand-written `tf.function` loop's and made it 1.15x faster (benchmarks/RESULTS.md, sections 6
and 8). Weights and losses are bitwise those of 1 step per call. JAX and torch keep 1 (Keras'
torch trainer does not support more; JAX was not measured), and so does a model under a
tf.distribute strategy.
"""

from __future__ import annotations

import math

import keras

DEFAULT_STEPS_PER_EXECUTION = 8


def default_steps_per_execution(model: keras.Model) -> int:
    """kerasae's default for `model`: 8 on TensorFlow, else Keras' 1; also 1 under a
    tf.distribute strategy (Keras' multi-step loop fails there: a placeholder left unfed)."""
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    if tf.distribute.has_strategy() or getattr(model, "_distribute_strategy", None) is not None:
        return 1
    return DEFAULT_STEPS_PER_EXECUTION


def match_step_counts(model: keras.Model, *counts: int | None) -> None:
    """Keras runs whole groups of `steps_per_execution` steps even when `steps_per_epoch`,
    `validation_steps` or `steps` asks for fewer. With kerasae's default in effect (not a value
    the user passed to compile), use the largest divisor of it that divides every count given,
    so exactly the steps asked for run."""
    if not getattr(model, "_default_steps_per_execution", False):
        return
    wanted = default_steps_per_execution(model)
    for count in counts:
        if count is not None:
            wanted = math.gcd(wanted, int(count))
    if wanted != model.steps_per_execution:
        model.steps_per_execution = wanted
        model.train_function = model.test_function = model.predict_function = None


def user_compile_config(model: keras.Model, config: dict | None) -> dict | None:
    """`config` without steps_per_execution when it is kerasae's default, not the user's."""
    if config is None or not getattr(model, "_default_steps_per_execution", False):
        return config
    return {k: v for k, v in config.items() if k != "steps_per_execution"}


def compile_from_config(model: keras.Model, config: dict) -> None:
    """What keras.Model.compile_from_config does, which it skips for a model whose compile()
    is overridden (kerasae's only adds the default above)."""
    model.compile(**keras.saving.deserialize_keras_object(config))
    if getattr(model, "optimizer", None) is not None and model.built:
        model.optimizer.build(model.trainable_variables)
