"""The conv stacks' data format is an implementation detail: inputs, outputs and weights are
channels last on every backend, so a network built in either layout gives the same outputs
from the same weights (and presets load anywhere). On torch the stacks run channels first."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kerasae
from kerasae import networks


def build_in(layout: str, **options):
    with networks.conv_data_format(layout):
        return kerasae.build("vae", architecture="conv", seed=0, **options)


def test_torch_runs_conv_stacks_channels_first():
    expected = "channels_first" if keras.backend.backend() == "torch" else "channels_last"
    assert networks.conv_layout() == expected
    model = kerasae.build("conv_ae", input_shape=(28, 28, 1), latent_dim=4)
    formats = {layer.data_format for part in (model.encoder, model.decoder)
               for layer in part.layers
               if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))}
    assert formats == {expected}


# 28x28 with three stride-2 layers crops the decoder's 32x32 back to 28x28
@pytest.mark.parametrize("options", [
    {"input_shape": (28, 28, 1), "latent_dim": 3, "filters": (4, 8)},
    {"input_shape": (28, 28, 3), "latent_dim": 3, "filters": (4, 8, 8)},
])
def test_both_layouts_give_the_same_outputs_from_the_same_weights(options):
    last = build_in("channels_last", **options)
    first = build_in("channels_first", **options)
    first.set_weights(last.get_weights())
    x = np.random.default_rng(0).random((5, *options["input_shape"])).astype("float32")
    np.testing.assert_allclose(first.encode(x), last.encode(x), atol=1e-5)
    np.testing.assert_allclose(first.reconstruct(x), last.reconstruct(x), atol=1e-5)
    assert first.reconstruct(x).shape == x.shape


def test_weights_saved_in_one_layout_load_in_the_other(tmp_path):
    options = {"input_shape": (16, 16, 1), "latent_dim": 2, "filters": (4,)}
    last = build_in("channels_last", **options)
    last.save_weights(tmp_path / "last.weights.h5")
    first = build_in("channels_first", **options)
    first.load_weights(tmp_path / "last.weights.h5")
    x = np.random.default_rng(1).random((3, 16, 16, 1)).astype("float32")
    np.testing.assert_allclose(first.reconstruct(x), last.reconstruct(x), atol=1e-5)


def test_the_chosen_format_holds_only_inside_its_block_and_is_checked():
    default = networks.conv_layout()
    other = "channels_first" if default == "channels_last" else "channels_last"
    with networks.conv_data_format(other):
        assert networks.conv_layout() == other
        encoder = networks.conv_encoder((8, 8, 1), 2, filters=(4,))
    assert networks.conv_layout() == default
    assert encoder.get_layer("encoder_conv_0").data_format == other
    decoder = networks.conv_decoder(2, (8, 8, 1), filters=(4,), data_format=other)
    assert decoder.get_layer("decoder_output").data_format == other
    assert decoder.output.shape == (None, 8, 8, 1)
    with pytest.raises(ValueError, match=r"data_format must be one of .*got 'nchw'"):
        networks.conv_encoder((8, 8, 1), 2, data_format="nchw")
    with pytest.raises(ValueError, match="data_format must be one of"), \
            networks.conv_data_format("NHWC"):
        pass
