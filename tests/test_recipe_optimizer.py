"""A recipe's optimiser: Adam on a cosine decay, or AdamW with a linear warm-up (the MAE's), and
what scripts/train.py records of it (so a parked run never resumes under another optimiser)."""

import dataclasses

import keras
import numpy as np
import pytest
from project_scripts import load_script

from kerasae.presets import recipe


def rates(optimizer, steps):
    """The optimiser's learning rate at each step, read through its public API."""
    values = []
    for step in steps:
        optimizer.iterations.assign(step)
        values.append(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))
    return np.array(values)


def test_plain_recipe_is_adam_on_a_cosine_decay():
    r = dataclasses.replace(recipe("ae_mnist"), learning_rate=1e-3)
    optimizer = r.make_optimizer(steps_per_epoch=10, epochs=3)
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert not isinstance(optimizer, keras.optimizers.AdamW)
    assert optimizer.beta_2 == pytest.approx(0.999)
    np.testing.assert_allclose(rates(optimizer, [0, 15, 30]), [1e-3, 0.525e-3, 0.05e-3],
                               rtol=1e-5)
    assert r.optimizer_settings() == {}
    assert r.optimizer_description() == "Adam, cosine decay from 0.001 to 5% of it"


def test_weight_decay_and_warmup_make_adamw_with_a_linear_ramp():
    r = dataclasses.replace(recipe("ae_mnist"), learning_rate=2e-3, weight_decay=0.05,
                            beta_2=0.95, warmup_epochs=2)
    optimizer = r.make_optimizer(steps_per_epoch=10, epochs=6)
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert optimizer.weight_decay == pytest.approx(0.05)
    assert optimizer.beta_2 == pytest.approx(0.95)
    # 20 warm-up steps from 0 to the peak, then 40 steps of cosine decay to 5% of it
    np.testing.assert_allclose(rates(optimizer, [0, 10, 20, 40, 60]),
                               [0.0, 1e-3, 2e-3, 1.05e-3, 0.1e-3], rtol=1e-5, atol=1e-9)
    assert r.optimizer_settings() == {"weight_decay": 0.05, "beta_2": 0.95, "warmup_epochs": 2}
    assert r.optimizer_description() == (
        "AdamW (weight decay 0.05, beta_2 0.95), 2 epoch(s) of linear warm-up, then cosine "
        "decay from 0.002 to 5% of it")


def test_a_parked_run_belongs_to_its_optimiser(monkeypatch):
    train_script = load_script("train")
    plain = recipe("ae_mnist")
    before = train_script.fingerprint("ae_mnist", plain.epochs)
    assert "weight_decay" not in before  # fingerprints of existing recipes are unchanged
    changed = dataclasses.replace(plain, weight_decay=0.05)
    monkeypatch.setattr(train_script, "recipe", lambda name: changed)
    after = train_script.fingerprint("ae_mnist", plain.epochs)
    assert after == {**before, "weight_decay": 0.05}
