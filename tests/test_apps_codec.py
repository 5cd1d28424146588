"""kerasae.apps.codec: denoising and compression through a model's public methods.

Each check compares against a value computed here another way: decode of codes dequantised by
hand, a bit string built one bit at a time, byte counts from the format's layout, PSNR of the
model's own reconstructions.
"""

from __future__ import annotations

import struct
import zlib

import keras
import numpy as np
import pytest

import kerasae
from kerasae.apps.codec import (
    CompressedBatch,
    compress,
    compression_report,
    decompress,
    denoise,
    model_fingerprint,
)
from kerasae.data import load_mnist_sample
from kerasae.metrics import psnr

BITS = (1, 3, 8, 11, 16)


@pytest.fixture(scope="module")
def model():
    return kerasae.build("ae", input_shape=(8,), latent_dim=3, hidden_units=(16,))


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(1).uniform(0, 1, size=(40, 8)).astype("float32")


@pytest.fixture(scope="module")
def mnist_test():
    return load_mnist_sample()[1][0]


def expected_nbytes(n: int, dim: int, rank: int, bits: int | None) -> int:
    ranges = 0 if bits is None else 8 * dim
    payload = 4 * n * dim if bits is None else -(-n * dim * bits // 8)
    return 24 + 4 * rank + ranges + payload + 4  # header with the 8-byte model fingerprint


# ----- quantisation and the round trip -----------------------------------------------------


@pytest.mark.parametrize("bits", BITS)
def test_round_trip_is_decode_of_dequantised_codes(model, x, bits):
    packed = compress(model, x, bits)
    assert packed.codes.dtype == (np.uint8 if bits <= 8 else np.uint16)
    assert packed.codes.shape == (len(x), 3) and packed.codes.max() <= 2**bits - 1
    by_hand = packed.offset.astype("float64") + packed.codes * packed.scale.astype("float64")
    np.testing.assert_allclose(packed.dequantize(), by_hand, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(decompress(model, packed), model.decode(by_hand), atol=1e-6)


@pytest.mark.parametrize("bits", BITS)
def test_quantisation_error_is_at_most_half_a_step(model, x, bits):
    z = model.encode(x)
    packed = compress(model, x, bits)
    error = np.abs(packed.dequantize() - z)
    assert np.all(error <= packed.scale / 2 + 1e-6 * np.abs(z).max())
    # the grid spans each dimension's range: its minimum and maximum are levels 0 and 2**bits-1
    np.testing.assert_array_equal(packed.codes[z.argmin(0), range(3)], 0)
    np.testing.assert_array_equal(packed.codes[z.argmax(0), range(3)], 2**bits - 1)


def test_constant_dimension_and_single_example_are_exact():
    z = np.array([[0.5, -2.0], [0.5, 3.0], [0.5, 1.0]], dtype="float32")
    packed = CompressedBatch.from_codes(z, bits=4)
    assert packed.scale[0] == 0
    np.testing.assert_array_equal(packed.dequantize()[:, 0], 0.5)
    one = CompressedBatch.from_codes(z[:1], bits=2)
    np.testing.assert_array_equal(one.dequantize(), z[:1])


@pytest.mark.parametrize("variant", ["ae", "vae"])
def test_float_codes_reproduce_reconstruct(variant, x):
    vae_model = kerasae.build(variant, input_shape=(8,), latent_dim=2, hidden_units=(16,))
    packed = compress(vae_model, x, bits=None)
    assert packed.codes.dtype == np.float32 and packed.offset is None
    np.testing.assert_array_equal(packed.codes, vae_model.encode(x))
    np.testing.assert_allclose(decompress(vae_model, packed), vae_model.reconstruct(x),
                               atol=1e-5)
    restored = decompress(vae_model, packed.to_bytes())
    np.testing.assert_allclose(restored, vae_model.reconstruct(x), atol=1e-5)


def test_conditional_model_takes_its_labels(x):
    cvae = kerasae.build("cvae", input_shape=(8,), latent_dim=2, hidden_units=(16,),
                         num_classes=3)
    labels = np.arange(len(x)) % 3
    packed = compress(cvae, x, bits=8, condition=labels)
    np.testing.assert_array_equal(packed.codes, compress(cvae, x, 8, condition=labels).codes)
    expected = cvae.decode(packed.dequantize(), condition=labels)
    np.testing.assert_allclose(decompress(cvae, packed, condition=labels), expected, atol=1e-6)


# ----- bytes -------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", (None, *BITS))
def test_bytes_round_trip(model, x, bits):
    packed = compress(model, x, bits)
    data = packed.to_bytes()
    assert len(data) == packed.nbytes == expected_nbytes(len(x), 3, 1, bits)
    back = CompressedBatch.from_bytes(data)
    assert back.bits == bits and back.data_shape == (8,) and back.codes.dtype == packed.codes.dtype
    np.testing.assert_array_equal(back.codes, packed.codes)
    np.testing.assert_array_equal(back.dequantize(), packed.dequantize())


def test_payload_is_packed_most_significant_bit_first():
    levels = np.array([[5, 0, 7], [1, 6, 2]], dtype="uint8")
    packed = CompressedBatch(levels, 3, np.zeros(3, "float32"), np.ones(3, "float32"), ())
    stream = "".join(format(v, "03b") for v in levels.ravel())  # 18 bits
    stream += "0" * (-len(stream) % 8)
    expected = bytes(int(stream[i: i + 8], 2) for i in range(0, len(stream), 8))
    data = packed.to_bytes()
    assert data[24 + 24: -4] == expected
    wide = np.array([[1, 40000]], dtype="uint16")
    sixteen = CompressedBatch(wide, 16, np.zeros(2, "float32"), np.ones(2, "float32"), ())
    assert sixteen.to_bytes()[24 + 16: -4] == wide.astype(">u2").tobytes()


def test_bad_bytes_raise(model, x):
    data = compress(model, x, bits=5).to_bytes()
    corrupt = bytearray(data)
    corrupt[-10] ^= 0x01
    with pytest.raises(ValueError, match="corrupt"):
        CompressedBatch.from_bytes(bytes(corrupt))
    with pytest.raises(ValueError, match="truncated"):
        CompressedBatch.from_bytes(data[:-3])
    with pytest.raises(ValueError, match="truncated"):
        CompressedBatch.from_bytes(data[:7])
    with pytest.raises(ValueError, match="extra bytes"):
        CompressedBatch.from_bytes(data + b"\0")
    with pytest.raises(ValueError, match="KAEC"):
        CompressedBatch.from_bytes(b"PNG!" + data[4:])
    with pytest.raises(ValueError, match="version 9"):
        CompressedBatch.from_bytes(data[:4] + bytes([9]) + data[5:])
    with pytest.raises(ValueError, match="bytes"):
        CompressedBatch.from_bytes("not bytes")


def _with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def test_another_model_of_the_same_shapes_is_refused(model, x):
    keras.utils.set_random_seed(123)  # other initial weights than the fixture's (seed 0)
    twin = kerasae.build("ae", input_shape=(8,), latent_dim=3, hidden_units=(16,))
    data = compress(model, x, bits=8).to_bytes()
    assert model_fingerprint(twin) != model_fingerprint(model)
    with pytest.raises(ValueError, match="fingerprint .* but this model's is"):
        decompress(twin, data)
    twin.set_weights(model.get_weights())  # the same weights: the same codebook
    assert model_fingerprint(twin) == model_fingerprint(model)
    np.testing.assert_allclose(decompress(twin, data), decompress(model, data), atol=1e-6)


def test_version_1_bytes_without_fingerprint_still_decode(model, x):
    packed = compress(model, x, bits=6)
    data = packed.to_bytes()
    old = bytearray(data[:16] + data[24:-4])  # version 1: no fingerprint
    old[4] = 1
    back = CompressedBatch.from_bytes(_with_crc(bytes(old)))
    assert back.fingerprint is None
    np.testing.assert_array_equal(back.codes, packed.codes)
    np.testing.assert_allclose(decompress(model, back), decompress(model, packed), atol=1e-6)


def test_crafted_codes_with_a_valid_checksum_are_refused(x):
    model = kerasae.build("linear_ae", input_shape=(8,), latent_dim=3)
    model.set_weights([np.full_like(w, 4.0) for w in model.get_weights()])  # 3e38 * 4: inf
    data = compress(model, x[:2], bits=None).to_bytes()
    body = bytearray(data[:-4])
    start = 24 + 4  # header, fingerprint, one u32 of data shape
    body[start: start + 24] = np.full(6, 3e38, "<f4").tobytes()
    with pytest.raises(ValueError, match="non-finite output|NaN or infinite values"):
        decompress(model, _with_crc(bytes(body)))
    body[start: start + 4] = np.array([np.nan], "<f4").tobytes()
    with pytest.raises(ValueError, match="finite"):
        decompress(model, _with_crc(bytes(body)))
    quantised = bytearray(compress(model, x, bits=8).to_bytes()[:-4])
    quantised[start + 12: start + 24] = np.full(3, 3e38, "<f4").tobytes()  # huge steps
    with pytest.raises(ValueError, match="non-finite"):
        decompress(model, _with_crc(bytes(quantised)))


# ----- the report --------------------------------------------------------------------------


def test_report_counts_bytes_and_psnr(model, x):
    report = compression_report(model, x, bits=4)
    packed = compress(model, x, bits=4)
    assert report["compressed_bytes"] == len(packed.to_bytes())
    assert report["original_bytes_float32"] == 4 * x.size
    assert report["original_bytes_uint8"] == x.size
    assert report["payload_bytes"] == len(x) * 3 * 4 // 8
    assert report["ratio_vs_float32"] == pytest.approx(4 * x.size / len(packed.to_bytes()))
    assert report["ratio_vs_uint8"] == pytest.approx(x.size / len(packed.to_bytes()))
    quantised = psnr(x, decompress(model, packed)).mean()
    exact = psnr(x, model.reconstruct(x)).mean()
    assert report["psnr_db"] == pytest.approx(quantised, abs=1e-4)
    assert report["psnr_unquantized_db"] == pytest.approx(exact, abs=1e-4)
    assert report["psnr_loss_db"] == pytest.approx(exact - quantised, abs=1e-4)
    assert compression_report(model, x, bits=None)["psnr_loss_db"] == pytest.approx(0, abs=1e-4)


def test_fewer_bits_cost_psnr_on_a_trained_model(mnist_test):
    conv = kerasae.load("conv_ae_mnist", compile=False)
    x = mnist_test[:200]
    coarse, fine = (compression_report(conv, x, bits=b) for b in (3, 8))
    assert coarse["ratio_vs_uint8"] > fine["ratio_vs_uint8"] > 20
    assert coarse["psnr_loss_db"] > fine["psnr_loss_db"] + 1
    assert abs(fine["psnr_loss_db"]) < 0.2


# ----- denoising ---------------------------------------------------------------------------


def test_denoising_preset_raises_psnr(mnist_test):
    denoiser = kerasae.load("denoising_ae_mnist", compile=False)
    rng = np.random.default_rng(0)
    noisy = np.clip(mnist_test + rng.normal(0, 0.5, mnist_test.shape), 0, 1).astype("float32")
    clean = denoise(denoiser, noisy)
    np.testing.assert_allclose(clean, denoiser.reconstruct(noisy), atol=1e-6)
    before, after = psnr(mnist_test, noisy).mean(), psnr(mnist_test, clean).mean()
    assert after > before + 5, (before, after)


# ----- argument checks ---------------------------------------------------------------------


@pytest.mark.parametrize("bits", [0, 17, 2.5, True, "8"])
def test_bad_bits_raise(model, x, bits):
    with pytest.raises(ValueError, match=r"bits .* must be an integer in \[1, 16\]"):
        compress(model, x, bits)


def test_bad_inputs_raise(model, x):
    with pytest.raises(ValueError, match=r"x_noisy must have shape \(N, 8\)"):
        denoise(model, x[:, :5])
    with pytest.raises(ValueError, match=r"x must have shape \(N, 8\)"):
        compress(model, x[0])
    other = kerasae.build("ae", input_shape=(8,), latent_dim=4, hidden_units=(16,))
    with pytest.raises(ValueError, match="latent_dim 3"):
        decompress(other, compress(model, x))
    with pytest.raises(ValueError, match="CompressedBatch"):
        decompress(model, x)
    with pytest.raises(ValueError, match="levels below"):
        CompressedBatch(np.array([[9]], "uint8"), 3, np.zeros(1, "float32"),
                        np.ones(1, "float32"), ())
