"""The tf.data options kerasae gives Keras' array pipeline (kerasae/models/_pipeline.py): on
TensorFlow they reach the pipeline fit builds from numpy, change nothing that training
computes, stay out of other models' and the user's own datasets, and can be turned off."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kerasae
from kerasae.models import _pipeline


@pytest.fixture
def option_uses(monkeypatch):
    """How many pipelines took kerasae's options."""
    uses = []
    original = _pipeline.steady_options

    def counted():
        uses.append(1)
        return original()

    monkeypatch.setattr(_pipeline, "steady_options", counted)
    return uses


def _train(shuffle=True):
    keras.utils.set_random_seed(0)
    model = kerasae.build("ae", input_shape=(6,), latent_dim=2, hidden_units=(4,))
    model.compile(optimizer="adam")
    x = np.random.default_rng(0).random((40, 6)).astype("float32")
    history = model.fit(x, batch_size=4, epochs=2, shuffle=shuffle, verbose=0,
                        validation_split=0.25)
    return model, history.history


def test_numpy_fit_runs_on_the_steady_pipeline_with_unchanged_results(option_uses,
                                                                      monkeypatch):
    """Fails if the options do not reach fit's numpy pipeline on TensorFlow (or reach one on
    another backend, where Keras builds no tf.data pipeline from arrays), or if they change a
    loss or a weight of a shuffled fit."""
    steady, steady_history = _train()
    on_tensorflow = keras.backend.backend() == "tensorflow"
    assert _pipeline.enabled() is on_tensorflow
    assert bool(option_uses) is on_tensorflow  # training and validation pipelines
    option_uses.clear()
    monkeypatch.setenv("KERASAE_STEADY_PIPELINE", "0")
    assert not _pipeline.enabled()
    default, default_history = _train()
    assert not option_uses
    assert steady_history == default_history
    for a, b in zip(steady.get_weights(), default.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_other_models_and_user_datasets_keep_their_options(option_uses):
    """Fails if the hook leaks out of kerasae's calls: a plain Keras model's numpy fit and a
    tf.data.Dataset given to kerasae must keep Keras' and the user's options."""
    inputs = keras.Input((6,))
    plain = keras.Model(inputs, keras.layers.Dense(6)(inputs))
    plain.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).random((16, 6)).astype("float32")
    plain.fit(x, x, batch_size=4, verbose=0)
    assert not option_uses
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        model = kerasae.build("ae", input_shape=(6,), latent_dim=2, hidden_units=(4,))
        model.compile(optimizer="adam")
        model.fit(tf.data.Dataset.from_tensor_slices(x).batch(4), shuffle=False, verbose=0)
        assert not option_uses
        with _pipeline.steady_array_pipeline():
            from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

            dataset = ArrayDataAdapter(x, batch_size=4).get_tf_dataset()
        assert dataset.options().threading.private_threadpool_size == 1
        assert dataset.options().autotune.enabled is False
