"""Every bundled preset loads on this backend and reproduces the figure recorded when it was
evaluated, on the MNIST sample shipped with kerasae."""

from __future__ import annotations

import numpy as np
import pytest

import kerasae
from kerasae.data import shipped_sample

PRESETS = kerasae.list_models()


def test_the_zoo_is_bundled():
    assert {"linear_ae_mnist", "ae_mnist"} <= set(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_reproduces_its_recorded_figure(name):
    info = kerasae.model_info(name)
    check = info["sample_check"]
    model = kerasae.load(name)
    x, y = shipped_sample(check["sample"])
    kwargs = {"condition": y} if check["conditioned_on_labels"] else {}
    error = model.reconstruction_error(x, **kwargs)
    assert error.mean() == pytest.approx(check["mean_reconstruction_error"], rel=1e-4)
    assert model.variant == info["variant"]
    assert list(model.data_shape) == info["input_spec"]["shape"]


@pytest.mark.parametrize("name", PRESETS)
def test_preset_card_states_held_out_metrics(name):
    info = kerasae.model_info(name)
    assert info["metrics"], f"{name} has no measured metrics"
    card = (kerasae.hub.resolve(name) / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: keras" in card
    for key, metric in info["metrics"].items():
        assert key in card and np.isfinite(metric["value"])
