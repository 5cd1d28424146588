"""A variant's config is its single source of truth: presets and .keras files store the variant
and its options, and loading rebuilds through the builder; old full-graph presets still load."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

import kerasae
from kerasae import builders
from kerasae.conv import AdjointConv2DTranspose
from kerasae.models import VariationalAutoencoder

OLD = Path(__file__).parent / "fixtures" / "old_format"


@pytest.mark.parametrize("name", ["vae_dense", "conv_ae"])
def test_old_format_presets_load_and_give_their_recorded_outputs(name):
    """Catches: presets already on the Hub (full-graph config.json) no longer loading, or
    loading into a model that computes something else."""
    expected = np.load(OLD / "expected.npz")
    model = kerasae.load(OLD / name, compile=False)
    x = expected[f"{name}__x"]
    np.testing.assert_allclose(model.encode(x), expected[f"{name}__encode"], atol=1e-5)
    np.testing.assert_allclose(model.reconstruct(x), expected[f"{name}__reconstruct"], atol=1e-5)
    np.testing.assert_allclose(model.reconstruction_error(x), expected[f"{name}__error"],
                               rtol=1e-5, atol=1e-5)
    # ... and come back as the builder's model today, serialised as variant + options
    assert not model.serialises_graph
    assert sorted(model.get_config()) == ["name", "options", "trainable", "variant"]
    if name == "conv_ae":
        assert any(isinstance(layer, AdjointConv2DTranspose) for layer in model.decoder.layers)
        assert "filters" in model.options and "hidden_units" not in model.options


@pytest.mark.parametrize("name, kwargs", [
    ("conv_ae", dict(input_shape=(8, 8, 1), latent_dim=3, filters=(2,))),
    ("cvae", dict(input_shape=(6,), latent_dim=2, hidden_units=(4,), num_classes=3)),
    ("masked_ae", dict(input_shape=(8, 8, 1), latent_dim=4, patch_size=4, embed_dim=8,
                       depth=1, num_heads=2, decoder_embed_dim=8, decoder_depth=1,
                       decoder_num_heads=2)),
])
def test_a_built_model_serialises_as_its_variant_and_options_json_exact(name, kwargs):
    """Catches: the graph serialised again, tuples that JSON turns into lists (a round trip
    not equal), or from_config not going through the builder."""
    model = kerasae.build(name, **kwargs)
    config = model.get_config()
    assert sorted(config) == ["name", "options", "trainable", "variant"]
    assert json.loads(json.dumps(config)) == config
    rebuilt = type(model).from_config(json.loads(json.dumps(config)))
    assert type(rebuilt) is type(model) and rebuilt.get_config() == config
    assert len(json.dumps(config)) < 1000


def test_a_hand_built_model_still_serialises_its_graph_json_exact():
    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2)], name="encoder")
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)], name="decoder")
    model = kerasae.Autoencoder(encoder, decoder)
    config = model.get_config()
    assert model.variant is None and model.serialises_graph and "encoder" in config
    assert json.loads(json.dumps(config)) == config
    rebuilt = kerasae.Autoencoder.from_config(config)
    assert rebuilt.variant is None and rebuilt.get_config() == config


@pytest.mark.parametrize("name, options, message", [
    ("ae", {"input_shape": (8, 8, 1), "hidden_units": (4,)},
     r"option\(s\) \['hidden_units'\] do not apply to architecture='conv'; it takes "
     r"\['filters', 'kernel_size', 'activation'\]"),
    ("vae", {"input_shape": (6,), "filters": (4,)},
     r"\['filters'\] do not apply to architecture='dense'"),
    ("ae", {"input_shape": (12, 2), "architecture": "lstm", "activation": "tanh"},
     r"\['activation'\] do not apply to architecture='lstm'; it takes \['units'\]"),
    ("ae", {"input_shape": (6,), "activation": "relux"},
     r"activation must be None or the name of a Keras activation .*got 'relux'"),
])
def test_an_option_that_does_not_apply_is_refused(name, options, message):
    with pytest.raises(ValueError, match=message):
        kerasae.build(name, latent_dim=2, **options)


def test_ae_with_lstm_networks_takes_units():
    model = kerasae.build("ae", input_shape=(12, 2), latent_dim=2, architecture="lstm",
                          units=(4,))
    assert model.options["units"] == [4] and "hidden_units" not in model.options


@pytest.mark.parametrize("kwargs, message", [
    ({"beta": -1.0}, r"beta must be a number in \[0.0, inf\]; got -1.0"),
    ({"free_bits": -0.5}, r"free_bits .*got -0.5"),
    ({"likelihood": "gaussian", "observation_std": 0.0}, r"observation_std .*got 0.0"),
    ({"kl_warmup_steps": -3}, r"kl_warmup_steps must be >= 0"),
])
def test_the_vae_class_checks_its_own_invariants(kwargs, message):
    """Catches checks that only the builder made: from_config or a hand-built model skipped
    them."""
    x = keras.Input((6,))
    encoder = keras.Model(x, [keras.layers.Dense(2)(x), keras.layers.Dense(2)(x)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    with pytest.raises(ValueError, match=message):
        VariationalAutoencoder(encoder, decoder, **kwargs)


def test_builder_functions_are_named_after_their_variants_and_old_names_warn():
    model = builders.deterministic.ae(input_shape=(6,), latent_dim=2, hidden_units=(3,))
    assert model.variant == "ae"
    with pytest.warns(DeprecationWarning, match=r"recurrent_autoencoder is deprecated.*lstm_ae"):
        old = builders.deterministic.recurrent_autoencoder((6, 1), 2, units=(3,))
    assert old.variant == "lstm_ae"
