"""What keeps a model sound through a failed or diverging `fit`.

- `FiniteLoss`, a callback every `fit` gets: a non-finite loss, or weights or optimizer state
  gone non-finite at an epoch's end, stop training with a ValueError naming the epoch (and
  step), and the weights and the optimizer's state go back to the last finite epoch's, so
  nothing non-finite is left for a later save or a later fit.
- `restore_after_failure`: undoes the half-finished JAX trainer state of a call that failed.
"""

from __future__ import annotations

import contextlib
import math

import keras
import numpy as np


class NonFiniteLossError(ValueError):
    """Training produced a NaN or infinite loss."""


class FiniteLoss(keras.callbacks.Callback):
    """Raises NonFiniteLossError on the first non-finite batch loss; keeps the weights and the
    optimizer's state of the last epoch that ended finite (`restore()` puts them back).

    A batch's loss is read at the end of the next batch (or of the epoch), when the device has
    computed it already, so the check does not stall JAX's or TensorFlow's asynchronous
    dispatch.
    """

    def __init__(self):
        super().__init__()
        self.saved = None
        self.saved_optimizer = None
        self.saved_epoch = None
        self.pending = None

    def on_train_begin(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and not optimizer.built:  # TensorFlow builds it in the first
            optimizer.build(self.model.trainable_variables)  # step: too late to save its state
        self.saved, self.saved_epoch, self.pending = self.model.get_weights(), None, None
        self.saved_optimizer = self._optimizer_state()

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
        weights, optimizer = self.model.get_weights(), self._optimizer_state()
        if not all(np.isfinite(w).all() for w in [*weights, *(optimizer or [])]):
            # a step's loss is computed before its update: a finite loss whose gradients
            # overflow leaves non-finite weights, or Adam moments (inf squared gradients that
            # freeze or poison every later step), that no loss has shown yet
            self._stop(f"the weights or the optimizer's state became non-finite at epoch "
                       f"{epoch + 1} although the loss stayed finite (its gradients overflowed "
                       "float32)")
        self.saved, self.saved_optimizer, self.saved_epoch = weights, optimizer, epoch

    def _check_pending(self):
        if self.pending is not None:
            pending, self.pending = self.pending, None
            self._check(*pending)

    def _check(self, epoch, batch, loss):
        value = float(keras.ops.convert_to_numpy(loss))
        if math.isfinite(value):
            return
        where = f"epoch {epoch + 1}" + ("" if batch is None else f", step {batch + 1}")
        self._stop(f"the loss became {value} at {where}")

    def _stop(self, what: str):
        back = ("the start of training" if self.saved_epoch is None
                else f"the end of epoch {self.saved_epoch + 1}")
        raise NonFiniteLossError(
            f"training stopped: {what}; the weights were restored to those of {back}. Likely "
            "causes: a learning rate too high, data with extreme values (scale it, e.g. to "
            "[0, 1] or standardised), or float16 overflow (train in float32 or with loss "
            "scaling)."
        )

    def restore(self) -> None:
        if self.saved is not None:
            self.model.set_weights(self.saved)
        if self.saved_optimizer is not None:
            for variable, value in zip(self.model.optimizer.variables, self.saved_optimizer,
                                       strict=True):
                variable.assign(value)

    def _optimizer_state(self) -> list[np.ndarray] | None:
        """The optimizer's variables (step count, moments, loss scale) as numpy, or None
        before it is built (then it starts fresh on the next fit anyway)."""
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not optimizer.built:
            return None
        return [keras.ops.convert_to_numpy(v) for v in optimizer.variables]


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
