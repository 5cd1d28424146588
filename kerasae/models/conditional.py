"""Conditioning in one place: a mixin for models whose encoder and decoder both take a one-hot
class condition (the cvae). Mixed in before the model class: `class C(Conditional, Model)`."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from keras import ops

from kerasae._checks import check_int, check_labels
from kerasae.models._inputs import InputCheck

if TYPE_CHECKING:  # the mixin is always combined with an Autoencoder (for the type checker)
    from kerasae.models.base import BaseAutoencoder as _Base
else:
    _Base = object


class Conditional(_Base):
    """Inputs are [x, labels] (integer classes in [0, num_classes)); the networks see the
    labels one-hot. `fit([x, labels])`; the numpy methods take condition=labels."""

    conditional = True  # for code that reads the flag; kerasae tests isinstance(model, Conditioned)

    num_classes: int  # set by _set_num_classes in __init__

    def _set_num_classes(self, num_classes: Any) -> None:
        self.num_classes = self.check_num_classes(num_classes)

    @staticmethod
    def check_num_classes(num_classes: Any) -> int:
        return check_int(num_classes, "num_classes")

    def _split(self, inputs):
        x, labels = inputs
        return x, self.condition_code(labels)

    def condition_code(self, labels):
        """Integer class labels -> the one-hot vector the networks are conditioned on."""
        return ops.one_hot(ops.cast(ops.reshape(labels, (-1,)), "int32"), self.num_classes)

    def _condition_inputs(self) -> tuple[list, Any]:
        labels = keras.Input((), dtype="int32", name="condition")
        return [labels], self.condition_code(labels)

    def _with_condition(self, array, condition):
        if condition is None:
            raise ValueError(
                f"this {self.variant or type(self).__name__} needs condition=labels: integer "
                f"class labels in [0, {self.num_classes}), one per example."
            )
        return [array, self.check_labels(condition, len(array))]

    def check_labels(self, labels, n: int) -> np.ndarray:
        """Integer labels in [0, num_classes), one per example (a scalar is broadcast)."""
        return check_labels(labels, n, self.num_classes)

    def input_check(self) -> InputCheck:
        return replace(super().input_check(), num_classes=self.num_classes)

    def objective_config(self) -> dict:
        return {**super().objective_config(), "num_classes": self.num_classes}
