"""The data checks of `fit`, `evaluate` and `predict` for every input type Keras takes.

Numpy arrays are checked whole before Keras sees them. Streams (tf.data.Datasets, Python
generators, keras.utils.PyDatasets, torch DataLoaders) are checked on their element spec where
they have one, and every batch that flows is checked on the host with the same function and
message as numpy input: shape, dtype, finiteness, the [0, 1] range of cross-entropy models and
a cvae's labels.

A batch is read the Keras way, `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`, where a cvae's
x is `(data, labels)`. An autoencoder's target is its input, so a y is refused; for a cvae a y
given beside data alone is taken as its labels (`fit(x, labels)` is `fit([x, labels])`).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from kerasae._checks import check_data, check_labels


@dataclass
class ErrorSlot:
    """The first ValueError a stream check raised. tf.data (and Keras' generator adapter on
    TensorFlow) turn an exception raised in Python into a tensorflow error whose message
    holds a traceback; the fit wrapper re-raises this original instead."""

    error: ValueError | None = None

    def keep(self, error: ValueError) -> ValueError:
        if self.error is None:
            self.error = error
        return error


@dataclass(frozen=True)
class InputCheck:
    """What a model expects of its input; plain data, so a PyDataset using processes can
    pickle it."""

    data_shape: tuple[int, ...]
    value_range: tuple[float, float] | None
    num_classes: int | None  # a cvae's; None for unconditional models
    model_name: str = "this model"
    slot: ErrorSlot = field(default_factory=ErrorSlot, compare=False)

    # ----- numpy --------------------------------------------------------------------------

    def inputs(self, x: Any, y: Any = None, what: str = "x"):
        """The model input built from x (and, for a cvae, y as labels), checked, as float32
        data (and int32 labels)."""
        if self.num_classes is None:
            self._refuse_targets(y)
            return check_data(x, self.data_shape, what, self.value_range)
        if isinstance(x, (list, tuple)) and len(x) == 2:
            self._refuse_targets(y)
            data, labels = x
        elif y is not None:
            data, labels = x, y
        else:
            raise ValueError("a cvae trains on [x, labels]; got x alone. Use fit([x, labels]).")
        data = check_data(data, self.data_shape, what, self.value_range)
        return [data, check_labels(labels, len(data), self.num_classes)]

    def _refuse_targets(self, y: Any) -> None:
        if y is None:
            return
        shape = getattr(y, "shape", None)
        came = f"shape {tuple(shape)}" if shape is not None else type(y).__name__
        conditional = " and a cvae's labels go with x: fit([x, labels])" if self.num_classes \
            else ""
        raise ValueError(
            f"y must be None: {self.model_name} reconstructs its input, so x is also the "
            f"target{conditional}; got y of {came}. Call fit(x) without y (a stream yields "
            "x or (x,) per batch)."
        )

    # ----- one batch of a stream ----------------------------------------------------------

    def element(self, element: Any, where: str):
        """A stream's batch as the Keras tuple `(inputs,)` (or `(inputs, None, weights)`),
        checked; the message of a failed check ends with where the batch came from."""
        x, y, weights = unpack(element)
        try:
            inputs = self.inputs(x, y)
        except ValueError as error:
            raise self.slot.keep(ValueError(f"{error} (In {where}.)")) from None
        if isinstance(inputs, list):  # tf.data.Dataset.from_generator takes tuples only
            inputs = tuple(inputs)
        return (inputs,) if weights is None else (inputs, None, weights)


def unpack(element: Any):
    """(x, y, sample_weight) of a batch, read as Keras reads a tuple (a list is x)."""
    if not isinstance(element, tuple):
        return element, None, None
    if len(element) == 1:
        return element[0], None, None
    if len(element) == 2:
        return element[0], element[1], None
    if len(element) == 3:
        return element
    raise ValueError(
        "a batch must be x, (x,), (x, y) or (x, y, sample_weight); got a tuple of "
        f"{len(element)} items."
    )


# ----- streams ------------------------------------------------------------------------------


def is_tf_dataset(x: Any) -> bool:
    """A tf.data.Dataset, found without importing TensorFlow (Keras' own test)."""
    return any(c.__name__ == "DatasetV2" and c.__module__.startswith("tensorflow.python.")
               for c in type(x).__mro__)


def checked_stream(x: Any, check: InputCheck, what: str = "x"):
    """x with every batch checked (a new Dataset, generator, PyDataset or DataLoader), or None
    when x is not a stream kerasae knows how to check."""
    if is_tf_dataset(x):
        return _checked_dataset(x, check, what)
    if isinstance(x, types.GeneratorType):
        return _checked_generator(x, check, what)
    if isinstance(x, keras.utils.PyDataset):
        return CheckedPyDataset(x, check, what)
    if is_torch_dataloader(x):
        return _checked_dataloader(x, check, what)
    return None


def _checked_generator(source, check: InputCheck, what: str):
    for index, element in enumerate(source):
        yield check.element(element, f"batch {index} of the generator given as {what}")


def is_torch_dataloader(x: Any) -> bool:
    return any(c.__name__ == "DataLoader" and c.__module__.startswith("torch.utils.data")
               for c in type(x).__mro__)


class CheckedCollate:
    """A DataLoader's collate_fn followed by the check (a class, so worker processes can
    pickle it)."""

    def __init__(self, collate, check: InputCheck, what: str):
        self.collate, self.check, self.what = collate, check, what

    def __call__(self, items):
        where = f"a batch of the DataLoader given as {self.what}"
        return _to_torch(self.check.element(_to_numpy(self.collate(items)), where))


def _to_numpy(element):
    """Tensors to arrays; lists to tuples (torch's default_collate gives lists where Keras
    reads tuples)."""
    if isinstance(element, (tuple, list)):
        return tuple(_to_numpy(part) for part in element)
    return element.numpy() if hasattr(element, "numpy") else element


def _to_torch(element):
    """Arrays back to tensors: Keras reads a DataLoader's batches as torch tensors."""
    import torch

    if isinstance(element, tuple):
        return tuple(_to_torch(part) for part in element)
    return torch.from_numpy(element) if isinstance(element, np.ndarray) else element


def _checked_dataloader(loader, check: InputCheck, what: str):
    """A shallow copy of the DataLoader whose collate_fn checks each batch (the loader's
    sampler, workers and batch size are the source's; collate_fn may still be set)."""
    import copy

    checked = copy.copy(loader)
    checked.collate_fn = CheckedCollate(loader.collate_fn, check, what)
    if hasattr(checked, "_iterator"):
        checked._iterator = None
    return checked


class CheckedPyDataset(keras.utils.PyDataset):
    """A PyDataset whose batches are checked; workers and queue as the source's."""

    def __init__(self, source: keras.utils.PyDataset, check: InputCheck, what: str):
        super().__init__(workers=source.workers, use_multiprocessing=source.use_multiprocessing,
                         max_queue_size=source.max_queue_size)
        self.source, self.check, self.what = source, check, what

    @property
    def num_batches(self):
        return self.source.num_batches

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index):
        where = f"batch {index} of the {type(self.source).__name__} given as {self.what}"
        return self.check.element(self.source[index], where)

    def on_epoch_begin(self) -> None:
        self.source.on_epoch_begin()

    def on_epoch_end(self) -> None:
        self.source.on_epoch_end()


# ----- tf.data ------------------------------------------------------------------------------


def _checked_dataset(dataset, check: InputCheck, what: str):
    """The dataset's element spec checked now, each batch checked on the host by a
    `tf.numpy_function` (the data comes back as float32 and the labels as int32, as numpy
    input does)."""
    import tensorflow as tf

    spec = dataset.element_spec
    tupled = isinstance(spec, tuple)
    x_spec, y_spec, w_spec = unpack(spec)
    conditional = check.num_classes is not None
    if conditional and isinstance(x_spec, tuple) and len(x_spec) == 2:
        check._refuse_targets(y_spec)
        data_spec, label_spec, layout = x_spec[0], x_spec[1], "pair"
    elif conditional and y_spec is not None:
        data_spec, label_spec, layout = x_spec, y_spec, "x_y"
    elif conditional:
        raise ValueError("a cvae trains on batches ((x, labels),) or (x, labels); got a "
                         f"tf.data.Dataset of {spec}.")
    else:
        check._refuse_targets(y_spec)
        data_spec, label_spec, layout = x_spec, None, "x"
    _check_spec(data_spec, check.data_shape, what)
    if label_spec is not None:
        _check_label_spec(label_spec)
    where = f"a batch of the tf.data.Dataset given as {what}"

    def host_check(*arrays) -> np.bool_:
        """The numpy check of one batch; a failure is kept in the slot (raising here would make
        TensorFlow log a Python traceback) and stops the pipeline through an Assert. Measured
        at ~0.25 ms of CPU a 64x28x28 batch, less than the same tests in TensorFlow ops."""
        parts = (arrays[0],) if label_spec is None else ((arrays[0], arrays[1]),)
        try:
            check.element(parts, where)
        except ValueError:
            return np.bool_(False)
        return np.bool_(True)

    def mapped(*element):
        element = element if tupled else element[0]
        x, y, weights = unpack(element)
        tensors = [x[0], x[1]] if layout == "pair" else [x] if layout == "x" else [x, y]
        passed = tf.numpy_function(host_check, tensors, tf.bool)
        with tf.control_dependencies([tf.debugging.Assert(passed, ["kerasae input check"])]):
            checked = [tf.identity(tf.cast(tensors[0], tf.float32))]  # identity: cast may be a
            if label_spec is not None:                                  # no-op, without the
                checked.append(tf.identity(tf.cast(tensors[1], tf.int32)))  # dependency
        inputs = tuple(checked) if label_spec is not None else checked[0]
        return (inputs,) if weights is None else (inputs, None, weights)

    return dataset.map(mapped).prefetch(tf.data.AUTOTUNE)  # checks overlap with training


def _check_spec(spec, data_shape: tuple[int, ...], what: str) -> None:
    import tensorflow as tf

    expected = f"(N, {', '.join(str(d) for d in data_shape)})"
    if not isinstance(spec, tf.TensorSpec):
        raise ValueError(f"{what} must be a dense tensor of shape {expected}; got a "
                         f"tf.data.Dataset of {spec}.")
    dtype = spec.dtype
    if not (dtype.is_floating or dtype.is_integer or dtype.is_bool):
        kind = "real numbers" if dtype.is_complex else "numbers"
        raise ValueError(f"{what} must hold {kind}; got a tf.data.Dataset of dtype "
                         f"{dtype.name}.")
    shape = spec.shape
    if shape.rank is None:
        return
    dims = tuple(shape.as_list())
    if dims == tuple(data_shape):
        raise ValueError(f"{what} must have shape {expected}; got {dims}. It looks like a "
                         "dataset of single examples: batch it, e.g. dataset.batch(64).")
    if len(dims) != len(data_shape) + 1 or any(
            d is not None and d != e for d, e in zip(dims[1:], data_shape, strict=True)):
        raise ValueError(f"{what} must have shape {expected}; got {dims}.")


def _check_label_spec(spec) -> None:
    import tensorflow as tf

    if not isinstance(spec, tf.TensorSpec) or not spec.dtype.is_integer or (
            spec.shape.rank is not None and spec.shape.rank != 1):
        raise ValueError("condition must be integer class labels, shape (N,), one per "
                         f"example; got a tf.data.Dataset of {spec}.")
