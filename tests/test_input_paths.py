"""Every way of feeding fit/evaluate/predict is checked like numpy input, with the same message.

tf.data Datasets, Python generators, keras.utils.PyDatasets and torch DataLoaders used to
skip every check: a NaN
trained to `loss: nan`, a cvae trained on label 7 of 3 classes, 0..255 images trained a
cross-entropy model to a negative loss. Each case here fails if a path goes unchecked again;
the controls show that good streams still train.
"""

from __future__ import annotations

import contextlib
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasae
from kerasae.models._guards import NonFiniteLossError

# Keras' own notes on streams (no shuffling of a stream, a generator used up) are not at issue.
pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed:UserWarning",
                                        "ignore:Your input ran out of data:UserWarning")


N, DIM, CLASSES = 16, 8, 3


def _compiled(model):
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


@pytest.fixture(scope="module")
def ae():
    return _compiled(kerasae.build("ae", input_shape=(DIM,), latent_dim=2, hidden_units=(4,)))


@pytest.fixture(scope="module")
def bce():
    return _compiled(kerasae.build("ae", input_shape=(DIM,), latent_dim=2, hidden_units=(4,),
                                   reconstruction_loss="bce"))


@pytest.fixture(scope="module")
def cvae():
    return _compiled(kerasae.build("cvae", input_shape=(DIM,), latent_dim=2, hidden_units=(4,),
                                   num_classes=CLASSES))


def data(n=N, dim=DIM):
    return np.random.default_rng(0).uniform(0.1, 0.9, (n, dim)).astype("float32")


def labels(n=N):
    return (np.arange(n) % CLASSES).astype("int64")


class Batches(keras.utils.PyDataset):
    def __init__(self, items):
        super().__init__()
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


def stream(kind: str, *arrays, batch: int = 8):
    """The arrays (x, or x and labels) as 2 batches of the given kind, each batch the Keras
    tuple (x,) or (x, labels)."""
    if kind == "tf.data":
        return tf.data.Dataset.from_tensor_slices(arrays if len(arrays) > 1 else arrays[0]) \
            .batch(batch)
    if kind == "DataLoader":
        import torch

        tensors = [torch.from_numpy(np.asarray(a)) for a in arrays]
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*tensors),
                                           batch_size=batch)
    items = [tuple(a[i:i + batch] for a in arrays) for i in range(0, len(arrays[0]), batch)]
    if kind == "generator":
        return (item for item in items)
    return Batches(items)


KINDS = ["tf.data", "generator", "PyDataset", "DataLoader"]
WHERE = {"tf.data": "a batch of the tf.data.Dataset given as x",
         "generator": "batch 0 of the generator given as x",
         "PyDataset": "batch 0 of the Batches given as x",
         "DataLoader": "a batch of the DataLoader given as x"}


def numpy_message(model, x, *more) -> str:
    """The message the numpy path gives for x: the streams must give the same."""
    with pytest.raises(ValueError) as caught:
        model.fit([x, *more] if more else x, epochs=1, verbose=0)
    return str(caught.value)


@pytest.mark.parametrize("kind, method", [(kind, "fit") for kind in KINDS]
                         + [("generator", "evaluate"), ("PyDataset", "predict")])
def test_nan_in_a_stream_is_refused_like_numpy(ae, kind, method):
    x = data()
    x[3, 1] = np.nan
    expected = numpy_message(ae, x)
    assert expected == "x contains 1 NaN or infinite values; expected finite numbers."
    with pytest.raises(ValueError, match=re.escape(f"{expected} (In {WHERE[kind]}.)")):
        getattr(ae, method)(stream(kind, x), verbose=0)


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_shape_in_a_stream_is_refused_like_numpy(ae, kind):
    x = data(dim=DIM + 1)
    expected = "x must have shape (N, 8); got (8, 9)."
    if kind == "tf.data":  # known from the element spec before any batch flows
        expected = "x must have shape (N, 8); got (None, 9)."
    with pytest.raises(ValueError, match=re.escape(expected)):
        ae.fit(stream(kind, x), epochs=1, verbose=0)


def test_unbatched_dataset_gets_a_hint(ae):
    with pytest.raises(ValueError, match=r"got \(8,\)\. It looks like a dataset of single "
                                         r"examples: batch it"):
        ae.fit(tf.data.Dataset.from_tensor_slices(data()), epochs=1, verbose=0)


@pytest.mark.parametrize("kind", KINDS)
def test_cross_entropy_model_refuses_unscaled_images_in_a_stream(bce, kind):
    x = data() * 255
    expected = numpy_message(bce, x)
    assert "must lie in [0.0, 1.0]" in expected
    with pytest.raises(ValueError, match=re.escape(expected[:60])):
        bce.fit(stream(kind, x), epochs=1, verbose=0)


@pytest.mark.parametrize("kind", KINDS)
def test_cvae_refuses_labels_out_of_range_in_a_stream(cvae, kind):
    bad = labels()
    bad[0] = 7
    expected = numpy_message(cvae, data(), bad)
    assert expected == "condition labels must lie in [0, 3); got values in [0, 7]."
    with pytest.raises(ValueError, match=re.escape(f"{expected} (In {WHERE[kind]}.)")):
        cvae.fit(stream(kind, data(), bad), epochs=1, verbose=0)


@pytest.mark.parametrize("kind", KINDS)
def test_good_streams_train(ae, cvae, kind):
    """The control: checked streams still train, and a cvae reads (x, labels) batches."""
    history = ae.fit(stream(kind, data()), epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])
    history = cvae.fit(stream(kind, data(), labels()), epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])


@pytest.mark.parametrize("kind", KINDS)
def test_targets_in_a_stream_are_refused(ae, kind):
    x = data()
    with pytest.raises(ValueError, match=r"y must be None: ae reconstructs its input"):
        ae.fit(stream(kind, x, x), epochs=1, verbose=0)


def test_validation_data_is_checked(ae):
    x = data()
    bad = x.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match=re.escape("validation_data contains 1 NaN")):
        ae.fit(x, validation_data=(bad,), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=re.escape("(In batch 0 of the generator given as "
                                                   "validation_data.)")):
        ae.fit(x, validation_data=stream("generator", bad), epochs=1, verbose=0)


# ----- training that diverges -----------------------------------------------------------------


def test_non_finite_loss_stops_training_and_restores_the_weights():
    model = kerasae.build("ae", input_shape=(DIM,), latent_dim=2, hidden_units=(4,))
    model.compile(optimizer=keras.optimizers.SGD(1e30))
    before = model.get_weights()
    pattern = r"training stopped: the loss became (nan|inf) at epoch 1, step \d+; the weights " \
              r"were restored to those of the start of training\. Likely causes: a learning rate"
    with pytest.raises(NonFiniteLossError, match=pattern) as caught:
        model.fit(data() * 1000, batch_size=4, epochs=3, verbose=0)
    assert isinstance(caught.value, ValueError)
    for restored, original in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(restored, original)


def test_state_gone_non_finite_behind_a_finite_loss_is_restored_and_training_goes_on():
    """One step whose loss is finite (about 1e37) but whose squared gradients overflow float32:
    Adam's second moments become inf, which no loss ever shows and which stalled or poisoned
    every later fit of the model (found by the fuzz test of fit, whose later examples trained
    on the left-over state). The guard checks weights and optimizer state at each epoch's end,
    restores both, and the model trains on."""
    model = kerasae.build("ae", input_shape=(6,), latent_dim=2, hidden_units=(4,))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = np.zeros((2, 6), "float32")
    x[0, 0] = 1e19
    with contextlib.suppress(NonFiniteLossError):  # the first fit (TensorFlow builds the
        model.fit(x, batch_size=4, epochs=1, verbose=0)  # optimizer only in its first step)
    assert all(np.isfinite(keras.ops.convert_to_numpy(v)).all()
               for v in model.optimizer.variables)
    model.fit(np.full((2, 6), 0.5, "float32"), batch_size=4, epochs=1, verbose=0)
    before = model.get_weights()
    before_optimizer = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    with pytest.raises(NonFiniteLossError, match=r"training stopped: the weights or the "
                       r"optimizer's state became non-finite at epoch 1 although the loss "
                       r"stayed finite .*; the weights were restored to those of the start of "
                       r"training\."):
        model.fit(x, batch_size=4, epochs=1, verbose=0)
    for restored, original in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(restored, original)
    for variable, original in zip(model.optimizer.variables, before_optimizer, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), original)
    loss = model.fit(x / 1e19, batch_size=4, epochs=1, verbose=0).history["loss"][0]
    assert np.isfinite(loss)
    assert all(np.isfinite(w).all() for w in model.get_weights())


# ----- a failed call leaves the model usable ----------------------------------------------------


class Unreadable(keras.utils.PyDataset):
    """Fails on its first batch, i.e. inside Keras' first step (after the JAX trainer has
    detached the variables)."""

    def __len__(self):
        return 2

    def __getitem__(self, index):
        raise OSError("the disk went away")


def test_model_stays_usable_after_a_failed_call():
    """On JAX this failed with "'NoneType' object is not callable" in every later call; the
    same property holds on the other backends. The first call is the first fit, with an
    optimizer not yet built."""
    model = _compiled(kerasae.build("ae", input_shape=(DIM,), latent_dim=2, hidden_units=(4,)))
    x = data()
    for method in ("fit", "evaluate", "predict"):
        before = model.get_weights()
        with pytest.raises(OSError, match="the disk went away"):
            getattr(model, method)(Unreadable(), verbose=0)
        for kept, original in zip(model.get_weights(), before, strict=True):
            np.testing.assert_array_equal(kept, original)
        assert model.reconstruct(x).shape == x.shape
        assert np.isfinite(model.fit(x, epochs=1, verbose=0).history["loss"][0])
