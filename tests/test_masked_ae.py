"""masked_ae: patches, per-example masking, the masked-patch loss, training, the numpy methods,
saving and argument checks. Runs on whichever backend KERAS_BACKEND names."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops
from variant_specs import images

import kerasae
from kerasae.builders.masked import gelu
from kerasae.models.masked import MaskedAutoencoder, patch_targets
from kerasae.patches import (
    RandomPatchMasking,
    patchify,
    sincos_position_table,
    unpatchify,
)
from kerasae.protocols import require_decoder
from kerasae.variants import variant_options

TINY = {"embed_dim": 8, "depth": 1, "num_heads": 2, "decoder_embed_dim": 8, "decoder_depth": 1,
        "decoder_num_heads": 2}


BATCH = 4  # one batch size for eager calls: JAX compiles every op again for each new shape


def build(**options) -> MaskedAutoencoder:
    kwargs = {"input_shape": (8, 8, 1), "latent_dim": 4, "patch_size": 2, **TINY, **options}
    return kerasae.build("masked_ae", **kwargs)


def numpy(tensor) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(tensor))


def tokens(batch: int, count: int) -> np.ndarray:
    return np.random.default_rng(0).random((batch, count, 3)).astype("float32")


def seed_state(model) -> np.ndarray:
    return numpy(model.masking.seed_generator.state.value).astype("int64")


# ----- patches ------------------------------------------------------------------------------


def test_patchify_is_row_major_and_unpatchify_inverts_it_exactly():
    x = np.random.default_rng(1).random((3, 8, 12, 2)).astype("float32")
    patches = numpy(patchify(x, 4))
    assert patches.shape == (3, 6, 4 * 4 * 2)
    for row in range(2):
        for col in range(3):
            block = x[:, 4 * row: 4 * row + 4, 4 * col: 4 * col + 4, :].reshape(3, -1)
            np.testing.assert_array_equal(patches[:, 3 * row + col], block)
    np.testing.assert_array_equal(numpy(unpatchify(patches, 4, (8, 12, 2))), x)


def test_patch_size_must_divide_the_image():
    with pytest.raises(ValueError, match=r"patch_size=3 must divide.*\(8, 12, 2\)"):
        patchify(np.zeros((1, 8, 12, 2), "float32"), 3)
    with pytest.raises(ValueError, match=r"patch_size=3 must divide.*\(8, 8, 1\)"):
        build(patch_size=3)


# ----- masking ------------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", [0.25, 0.5, 0.6, 0.75, 0.9])
def test_exactly_round_ratio_times_patches_are_masked_in_every_example(ratio):
    count, batch = 16, 8
    layer = RandomPatchMasking(ratio, seed=1)
    expected = round(ratio * count)
    for training in (True, False):
        keep, mask = (numpy(t) for t in layer(tokens(batch, count), training=training))
        assert keep.shape == (batch, count - expected)
        np.testing.assert_array_equal(mask.sum(axis=1), np.full(batch, expected))
        for b in range(batch):  # keep lists distinct patches, exactly the unmasked ones
            assert len(set(keep[b].tolist())) == count - expected
            np.testing.assert_array_equal(np.sort(keep[b]), np.flatnonzero(mask[b] == 0))


def test_the_model_masks_exactly_round_ratio_times_patches():
    model = build(mask_ratio=0.75)  # 16 patches of 2 x 2: 12 masked
    for training in (True, False):
        mask = numpy(model(images(BATCH), training=training)["mask"])
        np.testing.assert_array_equal(mask.sum(axis=1), np.full(BATCH, 12))
    assert build(mask_ratio=0.3).inference_mask().sum() == round(0.3 * 16) * 4


def test_masks_differ_between_examples_and_calls_and_follow_the_seed():
    x = tokens(32, 16)
    first, other = RandomPatchMasking(0.5, seed=3), RandomPatchMasking(0.5, seed=3)
    a1, a2 = (numpy(first(x, training=True)[1]) for _ in range(2))
    b1, b2 = (numpy(other(x, training=True)[1]) for _ in range(2))
    assert len({row.tobytes() for row in a1}) > 20  # per-example masks
    assert not np.array_equal(a1, a2)  # a fresh mask at every call
    np.testing.assert_array_equal(a1, b1)  # the same seed, the same sequence
    np.testing.assert_array_equal(a2, b2)
    c1 = numpy(RandomPatchMasking(0.5, seed=4)(x, training=True)[1])
    assert not np.array_equal(a1, c1)


def test_inference_mask_is_fixed_and_the_same_for_every_example():
    layer = RandomPatchMasking(0.75, seed=3)
    m1, m2 = (numpy(layer(tokens(5, 16), training=False)[1]) for _ in range(2))
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(m1, np.repeat(m1[:1], 5, axis=0))
    other = numpy(RandomPatchMasking(0.75, seed=4)(tokens(5, 16), training=False)[1])
    assert not np.array_equal(m1, other)


# ----- the loss -----------------------------------------------------------------------------


def _normalised(patches: np.ndarray) -> np.ndarray:
    mean = patches.mean(-1, keepdims=True)
    var = patches.var(-1, ddof=1, keepdims=True)
    return (patches - mean) / np.sqrt(var + 1e-6)


@pytest.mark.parametrize("norm_pix_loss", [False, True])
def test_loss_is_the_squared_error_on_masked_patches_only(norm_pix_loss):
    model = build(norm_pix_loss=norm_pix_loss)
    x = np.random.default_rng(2).random((BATCH, 8, 8, 1)).astype("float32")
    outputs = model(x, training=True)
    prediction, mask = numpy(outputs["decoder_output"]), numpy(outputs["mask"])

    def loss(pred):
        out = {**outputs, "decoder_output": ops.convert_to_tensor(pred)}
        return float(numpy(model.loss_terms(x, None, out)[0]))

    target = numpy(patchify(x, 2))
    target = _normalised(target) if norm_pix_loss else target
    per_patch = ((prediction - target) ** 2).mean(-1)
    expected = ((per_patch * mask).sum(1) / mask.sum(1)).mean()
    np.testing.assert_allclose(loss(prediction), expected, rtol=1e-5)

    visible_changed = prediction + np.float32(5.0) * (mask == 0)[..., None]
    np.testing.assert_allclose(loss(visible_changed), loss(prediction), rtol=1e-6)
    b, p = np.argwhere(mask == 1)[0]
    masked_changed = prediction.copy()
    masked_changed[b, p] = target[b, p] + 2.0
    assert abs(loss(masked_changed) - loss(prediction)) > 1e-3


def test_norm_pix_target_is_each_patch_standardised():
    patches = np.random.default_rng(3).random((2, 5, 12)).astype("float32") * 3 + 1
    target = numpy(patch_targets(patches, True))
    np.testing.assert_allclose(target, _normalised(patches), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(target.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(target.std(-1, ddof=1), 1.0, atol=1e-4)
    np.testing.assert_array_equal(numpy(patch_targets(patches, False)), patches)


def test_norm_pix_loss_ignores_per_patch_brightness_and_contrast():
    x = np.random.default_rng(4).random((BATCH, 8, 8, 1)).astype("float32")
    for norm_pix_loss, invariant in ((True, True), (False, False)):
        model = build(norm_pix_loss=norm_pix_loss)
        out = model(x, training=True)
        pred, mask = out["decoder_output"], out["mask"]
        plain = numpy(model.masked_error(x, pred, mask))
        shifted = numpy(model.masked_error(2.0 * x + 3.0, pred, mask))
        assert np.allclose(plain, shifted, rtol=1e-3) == invariant


# ----- training -----------------------------------------------------------------------------


def test_training_on_structured_images_lowers_the_loss_with_fresh_masks_every_epoch():
    """fit trains on every backend, and the masking seed generator's state moves inside the
    compiled train step (an int seed, or a state not carried out of a JAX step, would repeat
    one mask forever)."""
    model = build(seed=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    x, held_out = images(256, seed=0), images(64, seed=1)
    states = [seed_state(model)]

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            states.append(seed_state(model))

    before = model.evaluate(held_out, verbose=0, return_dict=True)
    history = model.fit(x, epochs=5, batch_size=64, verbose=0, callbacks=[Record()]).history
    after = model.evaluate(held_out, verbose=0, return_dict=True)
    assert {"loss", "reconstruction_loss"} <= set(history)
    np.testing.assert_allclose(history["loss"], history["reconstruction_loss"], rtol=1e-6)
    assert history["loss"][-1] < history["loss"][0]
    assert after["reconstruction_loss"] < 0.5 * before["reconstruction_loss"]
    assert len({s.tobytes() for s in states}) == len(states) == 6


# ----- the numpy methods --------------------------------------------------------------------


def test_encode_embeds_the_whole_image_and_reconstruct_pastes_visible_patches():
    model = build(seed=2)
    x = images(BATCH, seed=3)
    hidden = model.inference_mask()
    assert hidden.shape == (8, 8) and hidden.sum() == 12 * 4

    code = model.encode(x)
    assert code.shape == (BATCH, model.latent_dim) == (BATCH, 4)
    np.testing.assert_array_equal(model.encode(x), code)
    all_patches = np.broadcast_to(np.arange(16, dtype="int32"), (BATCH, 16))
    code_tokens = model.encoder.predict([x, all_patches], verbose=0)
    assert code_tokens.shape == (BATCH, 16, 4)
    np.testing.assert_allclose(code, code_tokens.mean(axis=1), rtol=1e-5, atol=1e-6)

    rec = model.reconstruct(x)
    assert rec.shape == x.shape
    np.testing.assert_array_equal(model.reconstruct(x), rec)
    # any length, in batches, each example on its own: the mask does not depend on the batch
    np.testing.assert_allclose(model.reconstruct(x[1:], batch_size=2), rec[1:], atol=1e-6)
    np.testing.assert_array_equal(rec[:, ~hidden], x[:, ~hidden])
    assert not np.allclose(rec[:, hidden], x[:, hidden])

    error = model.reconstruction_error(x)
    assert error.shape == (BATCH,)
    expected = ((rec - x)[:, hidden] ** 2).mean(axis=(1, 2))
    np.testing.assert_allclose(error, expected, rtol=1e-5)
    np.testing.assert_array_equal(model.reconstruction_error(x), error)

    # the hidden pixels reach encode (unmasked) but never the masked reconstruction
    changed = x.copy()
    changed[:, hidden] += 1.0
    assert not np.allclose(model.encode(changed), code, atol=1e-4)
    np.testing.assert_allclose(model.reconstruct(changed), rec, atol=1e-6)


def test_no_decoder_and_wrong_data_raise_value_errors():
    """Catches: the MAE growing a decode/sample it cannot honour (it has no code-to-image
    decoder), or apps that decode accepting it."""
    model = build()
    assert not hasattr(model, "decode") and not hasattr(model, "sample")
    assert not isinstance(model, kerasae.models.Generative)
    with pytest.raises(ValueError, match="masked_ae.*no decoder from codes"):
        require_decoder(model, "its codes cannot be decoded")
    assert "decode" not in model.ENDPOINTS  # what export serves
    with pytest.raises(ValueError, match="endpoint must be one of"):
        model.endpoint("decode")
    with pytest.raises(ValueError, match=r"\(N, 8, 8, 1\).*\(2, 16, 16, 1\)"):
        model.encode(np.zeros((2, 16, 16, 1), "float32"))
    with pytest.raises(ValueError, match=r"\(N, 8, 8, 1\).*\(3, 64\)"):
        model.reconstruct(np.zeros((3, 64), "float32"))


def test_position_embeddings_are_fixed_sincos_or_learned():
    fixed = build()
    table = numpy(fixed.encoder.get_layer("pos_embed").embedding.value)[0]
    np.testing.assert_allclose(table, sincos_position_table((4, 4), 8), atol=1e-6)
    trainable = {w.path for w in fixed.trainable_weights}
    assert not any("pos_embed" in p for p in trainable)
    assert any("mask_token" in p for p in trainable)
    learned = {w.path for w in build(pos_embedding="learned").trainable_weights}
    assert any(p.startswith("pos_embed") for p in learned)
    assert any(p.startswith("decoder_pos_embed") for p in learned)


def test_mlp_gelu_is_the_exact_gelu():
    x = np.linspace(-4, 4, 81, dtype="float32")
    exact = numpy(keras.activations.gelu(x, approximate=False))
    np.testing.assert_allclose(numpy(gelu(ops.convert_to_tensor(x))), exact, atol=1e-6)


# ----- saving -------------------------------------------------------------------------------


def test_save_and_load_keep_every_option_and_the_outputs(tmp_path):
    # every option away from its default (TINY sets the widths, depths and heads)
    options = {"mask_ratio": 0.5, "norm_pix_loss": True, "pos_embedding": "learned", "seed": 7,
               "mlp_ratio": 2.0}
    model = build(**options)
    defaults = variant_options("masked_ae")
    assert all(model.options[k] != defaults[k] for k in defaults)
    x = images(BATCH, seed=5)
    model.save(str(tmp_path / "m.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "m.keras"))

    assert isinstance(loaded, MaskedAutoencoder)
    assert loaded.options == model.options
    for key, value in options.items():
        assert loaded.options[key] == value
    assert (loaded.patch_size, loaded.mask_ratio, loaded.norm_pix_loss, loaded.seed) == (2, 0.5,
                                                                                          True, 7)
    np.testing.assert_array_equal(loaded.inference_mask(), model.inference_mask())
    rec = model.reconstruct(x)
    np.testing.assert_allclose(loaded.reconstruct(x), rec, atol=1e-6)
    np.testing.assert_allclose(loaded.encode(x), model.encode(x), atol=1e-6)

    model.save_weights(str(tmp_path / "m.weights.h5"))
    fresh = build(**options)
    assert not np.allclose(fresh.reconstruct(x), rec, atol=1e-3)
    fresh.load_weights(str(tmp_path / "m.weights.h5"))
    np.testing.assert_allclose(fresh.reconstruct(x), rec, atol=1e-6)

    loaded.compile(optimizer="adam")
    assert np.isfinite(loaded.fit(x, epochs=1, verbose=0).history["loss"][0])


# ----- argument checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"patch_size": 5}, r"patch_size=5 must divide the image height and width"),
        ({"mask_ratio": 0.0}, r"mask_ratio must be a number in \(0.0, 1.0\); got 0.0"),
        ({"mask_ratio": 1.0}, r"mask_ratio must be a number in \(0.0, 1.0\); got 1.0"),
        ({"mask_ratio": 1.5}, r"mask_ratio .*got 1.5"),
        ({"mask_ratio": "high"}, r"mask_ratio .*got 'high'"),
        ({"mask_ratio": 0.1, "patch_size": 4}, r"masks round\(0.1 \* 4\) = 0 of the 4 patches"),
        ({"input_shape": (64,)}, r"image input_shape \(height, width, channels\); got \(64,\)"),
        ({"embed_dim": 10, "num_heads": 4}, r"embed_dim=10 must be divisible by num_heads=4"),
        ({"embed_dim": 6, "num_heads": 2}, r"sincos.*embed_dim divisible by 4; got 6"),
        ({"pos_embedding": "rope"}, r"pos_embedding must be one of .*got 'rope'"),
        ({"seed": -1}, r"seed must be None or a non-negative integer; got -1"),
        ({"norm_pix_loss": "yes"}, r"norm_pix_loss must be True or False; got 'yes'"),
        ({"norm_pix_loss": True, "patch_size": 1}, r"norm_pix_loss .*at least 2 values"),
        ({"depth": 0}, r"depth must be a positive integer; got 0"),
        ({"patch_sise": 2}, r"unknown option.*Did you mean 'patch_size'"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_expected_and_given(options, message):
    with pytest.raises(ValueError, match=message):
        build(**options)
