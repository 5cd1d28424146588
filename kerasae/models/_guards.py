"""What keeps a model sound through a failed or diverging `fit`.

- `FiniteLoss`, a callback every `fit` gets: a non-finite loss stops training with a ValueError
  naming the epoch and step, and the weights go back to the last finite epoch's, so nothing
  non-finite is left for a later save.
- `restore_after_failure`: undoes the half-finished JAX trainer state of a call that failed.
"""

from __future__ import annotations

import contextlib
import math

import keras


class NonFiniteLossError(ValueError):
    """Training produced a NaN or infinite loss."""


class FiniteLoss(keras.callbacks.Callback):
    """Raises NonFiniteLossError on the first non-finite batch loss; keeps the weights of the
    last epoch that ended finite (`restore()` puts them back).

    A batch's loss is read at the end of the next batch (or of the epoch), when the device has
    computed it already, so the check does not stall JAX's or TensorFlow's asynchronous
    dispatch.
    """

    def __init__(self):
        super().__init__()
        self.saved = None
        self.saved_epoch = None
        self.pending = None

    def on_train_begin(self, logs=None):
        self.saved, self.saved_epoch, self.pending = self.model.get_weights(), None, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._check_pending()
        if logs and "loss" in logs:
            self.pending = (self.epoch, batch, logs["loss"])

    def on_epoch_end(self, epoch, logs=None):
        self._check_pending()
        if logs and "loss" in logs:
            self._check(epoch, None, logs["loss"])
        self.saved, self.saved_epoch = self.model.get_weights(), epoch

    def _check_pending(self):
        if self.pending is not None:
            pending, self.pending = self.pending, None
            self._check(*pending)

    def _check(self, epoch, batch, loss):
        value = float(keras.ops.convert_to_numpy(loss))
        if math.isfinite(value):
            return
        where = f"epoch {epoch + 1}" + ("" if batch is None else f", step {batch + 1}")
        back = ("the start of training" if self.saved_epoch is None
                else f"the end of epoch {self.saved_epoch + 1}")
        raise NonFiniteLossError(
            f"training stopped: the loss became {value} at {where}; the weights were restored "
            f"to those of {back}. Likely causes: a learning rate too high, data with extreme "
            "values (scale it, e.g. to [0, 1] or standardised), or float16 overflow (train in "
            "float32 or with loss scaling)."
        )

    def restore(self) -> None:
        if self.saved is not None:
            self.model.set_weights(self.saved)


@contextlib.contextmanager
def restore_after_failure(model: keras.Model):
    """On JAX, put back variables a failed fit/evaluate/predict left empty.

    Keras' JAX trainer detaches every variable's value when an epoch starts (to save memory)
    and reattaches the state only once a step has returned one: an exception in the first
    step (a bad batch, a wrong shape) leaves the variables empty and every later call fails
    with "'NoneType' object is not callable". Values are kept by reference (JAX arrays are
    immutable), so this costs nothing on success.
    """
    if keras.backend.backend() != "jax":
        yield
        return
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:  # its learning rate is not a zero
        optimizer.build(model.trainable_variables)
    variables = _state_variables(model)
    values = [v._value for v in variables]
    try:
        yield
    except BaseException:
        for variable in _state_variables(model):
            if variable._value is None:
                variable._value = _initial_value(variable, variables, values)
        raise


def _state_variables(model: keras.Model) -> list:
    """Every variable the JAX trainer may detach: the model's, the optimizer's, the metrics'."""
    found, seen = [], set()
    optimizer = getattr(model, "optimizer", None)
    groups = [model.variables, getattr(optimizer, "variables", []), model.metrics_variables]
    for group in groups:
        for variable in group:
            if id(variable) not in seen:
                seen.add(id(variable))
                found.append(variable)
    return found


def _initial_value(variable, variables: list, values: list):
    for known, value in zip(variables, values, strict=True):
        if known is variable and value is not None:
            return value
    # Created during the failed call (compiled metrics' totals and counts): zeros when
    # detached, as no step had run.
    return keras.ops.zeros(variable.shape, variable.dtype)
