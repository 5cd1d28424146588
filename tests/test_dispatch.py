"""kerasae's steps_per_execution default (kerasae/models/_dispatch.py): faster on TensorFlow,
and never a change in what training computes."""

from __future__ import annotations

import keras
import numpy as np

import kerasae


def _train(steps_per_execution=None, **fit_kwargs):
    keras.utils.set_random_seed(0)
    model = kerasae.build("ae", input_shape=(6,), latent_dim=2, hidden_units=(4,))
    options = {} if steps_per_execution is None else {"steps_per_execution": steps_per_execution}
    model.compile(optimizer="adam", **options)
    x = np.random.default_rng(0).random((44, 6)).astype("float32")
    history = model.fit(x, verbose=0, **fit_kwargs)
    return model, history.history["loss"]


def test_default_steps_per_execution_trains_exactly_as_one_step_per_call():
    """Fails if kerasae's default changes the weights or losses of fit (a partial last group,
    and a steps_per_epoch that is not a multiple of the default, included), or is not 8 on
    TensorFlow and Keras' 1 elsewhere."""
    model, _ = _train()
    expected = 8 if keras.backend.backend() == "tensorflow" else 1
    assert model.steps_per_execution == expected
    for fit_kwargs in ({"batch_size": 4, "epochs": 2},  # 11 steps per epoch
                       {"batch_size": 2, "epochs": 1, "steps_per_epoch": 5}):
        default, losses = _train(**fit_kwargs)
        one, one_losses = _train(1, **fit_kwargs)
        assert losses == one_losses
        for a, b in zip(default.get_weights(), one.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    assert default.steps_per_execution == 1  # gcd(8, 5): back to one step per call
    if keras.backend.backend() != "torch":  # Keras' torch trainer refuses anything but 1
        assert _train(3)[0].steps_per_execution == 3  # the user's choice is kept


def test_saved_model_records_only_a_steps_per_execution_the_user_chose(tmp_path):
    """Fails if kerasae's default is written into a saved model's compile config (a file saved
    on TensorFlow would then refuse to load on torch), or if loading skips compile()."""
    model, _ = _train(batch_size=4)
    assert "steps_per_execution" not in model.get_compile_config()
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.compiled and loaded.steps_per_execution == model.steps_per_execution
    if keras.backend.backend() != "torch":
        chosen, _ = _train(2, batch_size=4)
        assert chosen.get_compile_config()["steps_per_execution"] == 2
