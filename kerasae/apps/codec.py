"""Denoising and lossy compression with any autoencoder, through its public numpy methods.

Compression stores each example's code (`model.encode`) instead of the example: the codes are
quantised uniformly per latent dimension to `bits`-bit unsigned integers, with that dimension's
minimum and step size kept beside them, and `decompress` decodes the dequantised codes with
`model.decode`. The model itself is the codebook: it is never stored, and decompressing needs
the same model. Its latent size and data shape are stored and checked, and so is a fingerprint
of its weights (the first 8 bytes of a sha256 over every weight's shape and float32 values, in
order), so codes are never decoded silently by another model of the same shapes. Codes whose
dequantised values or decoded outputs are not finite are refused.

Byte format (`CompressedBatch.to_bytes`, version 2, little-endian):

    header   "KAEC", version u8, bits u8 (0 = float32 codes), rank u8, 0 u8,
             examples u32, latent_dim u32, the model fingerprint (8 bytes; zeros when
             unknown), then `rank` u32 for the data shape
    ranges   latent_dim float32 minima, then latent_dim float32 step sizes (absent when bits=0)
    payload  the codes: float32 when bits=0, else the integers bit-packed most significant bit
             first (numpy.packbits), row-major, zero-padded to a whole byte
    trailer  CRC-32 of everything before it, u32

Version 1 (the same without the fingerprint) is still read; its codes cannot be matched to a
model, so only the shapes are checked.

True bit packing keeps 4-bit codes at half a byte each (a uint8 per code would double the
size); for bits 8 and 16 it is byte-for-byte the same as big-endian uint8/uint16. In memory,
`CompressedBatch.codes` holds the integers as uint8 for bits <= 8 and uint16 above.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from kerasae._checks import check_data, check_int, to_numpy
from kerasae.metrics import psnr
from kerasae.protocols import AutoencoderLike, GenerativeLike, condition_kwargs, require_decoder

MAGIC = b"KAEC"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
MAX_BITS = 16
FINGERPRINT_BYTES = 8
_HEADER = struct.Struct("<4sBBBBII")
_U32 = struct.Struct("<I")


# ----- denoising ---------------------------------------------------------------------------


def denoise(model: AutoencoderLike, x_noisy: Any, batch_size: int = 256, *, condition: Any = None
            ) -> np.ndarray:
    """Clean estimates of noisy examples: the model's deterministic reconstruction.

    A denoising autoencoder learned to map corrupted inputs back to clean ones, so denoising
    is just `model.reconstruct`; this wrapper names the argument in errors and documents the
    use. Any autoencoder works, but only one trained with input corruption (e.g. the
    'denoising_ae' variant) is trained to remove noise rather than to copy it.
    """
    batch_size = check_int(batch_size, "batch_size")
    x = check_data(x_noisy, tuple(model.data_shape), "x_noisy")
    return np.asarray(model.reconstruct(x, batch_size=batch_size, **condition_kwargs(condition)))


# ----- the compressed batch ----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CompressedBatch:
    """Quantised codes of a batch and what is needed to dequantise and check them.

    codes: (N, latent_dim) uint8 (bits <= 8) or uint16 (bits > 8) levels, or float32 codes
    when `bits` is None. offset, scale: (latent_dim,) float32 per-dimension minimum and step,
    so code = offset + level * scale (None when `bits` is None). data_shape: the per-example
    shape of the data the codes came from, checked against the decoding model. fingerprint:
    `model_fingerprint` of the model that made the codes (None when unknown).
    """

    codes: np.ndarray
    bits: int | None
    offset: np.ndarray | None
    scale: np.ndarray | None
    data_shape: tuple[int, ...]
    fingerprint: bytes | None = None

    def __post_init__(self):
        _check_batch(self)

    @classmethod
    def from_codes(cls, z: Any, bits: int | None = 8, data_shape: tuple[int, ...] = (),
                   fingerprint: bytes | None = None) -> CompressedBatch:
        """Quantise codes (N, latent_dim): levels 0..2**bits-1 spread evenly over each
        dimension's [min, max] in this batch, so the error is at most scale/2 per value."""
        bits = check_bits(bits)
        z = _codes_array(z, "z")
        if bits is None:
            return cls(z, None, None, None, tuple(data_shape), fingerprint)
        offset, scale = _quantiser(z, bits)
        step = np.where(scale > 0, scale, 1.0).astype("float64")
        levels = np.rint((z - offset.astype("float64")) / step)
        levels = np.clip(levels, 0, 2**bits - 1).astype(_level_dtype(bits))
        return cls(levels, bits, offset, scale, tuple(data_shape), fingerprint)

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def latent_dim(self) -> int:
        return int(self.codes.shape[1])

    def dequantize(self) -> np.ndarray:
        """The codes as float32 (N, latent_dim), as `model.decode` takes them."""
        if self.bits is None:
            return self.codes.astype("float32", copy=True)
        with np.errstate(over="ignore", invalid="ignore"):  # crafted ranges: decompress refuses
            return (self.offset + self.codes.astype("float32") * self.scale).astype("float32")

    @property
    def nbytes(self) -> int:
        """Size of `to_bytes()`: header, ranges, payload and checksum."""
        ranges = 0 if self.bits is None else 8 * self.latent_dim
        header = _HEADER.size + FINGERPRINT_BYTES + _U32.size * len(self.data_shape)
        return header + ranges + _payload_size(self.codes.size, self.bits) + _U32.size

    def to_bytes(self) -> bytes:
        """A self-describing byte string (see the module docstring for the layout)."""
        parts = [
            _HEADER.pack(MAGIC, FORMAT_VERSION, self.bits or 0, len(self.data_shape), 0,
                         len(self), self.latent_dim),
            self.fingerprint or bytes(FINGERPRINT_BYTES),
            struct.pack(f"<{len(self.data_shape)}I", *self.data_shape),
        ]
        if self.bits is None:
            parts.append(self.codes.astype("<f4").tobytes())
        else:
            parts += [np.asarray(self.offset, "<f4").tobytes(),
                      np.asarray(self.scale, "<f4").tobytes(),
                      _pack(self.codes, self.bits)]
        body = b"".join(parts)
        return body + _U32.pack(zlib.crc32(body))

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> CompressedBatch:
        """Parse `to_bytes()` output; ValueError on foreign, truncated or corrupt bytes."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ValueError(f"data must be bytes from CompressedBatch.to_bytes(); got "
                             f"{type(data).__name__}.")
        data = bytes(data)
        bits, shape, n, dim, fingerprint, start = _read_header(data)
        ranges = 0 if bits is None else 8 * dim
        payload = _payload_size(n * dim, bits)
        expected = start + ranges + payload + _U32.size
        if len(data) != expected:
            state = "truncated" if len(data) < expected else "followed by extra bytes"
            raise ValueError(f"compressed data is {state}: its header describes {expected} "
                             f"bytes; got {len(data)}.")
        (stored,) = _U32.unpack_from(data, expected - _U32.size)
        if zlib.crc32(data[: expected - _U32.size]) != stored:
            raise ValueError("compressed data is corrupt: its CRC-32 checksum does not match.")
        body = data[start + ranges: start + ranges + payload]
        if bits is None:
            codes = np.frombuffer(body, "<f4").reshape(n, dim).astype("float32")
            return cls(codes, None, None, None, shape, fingerprint)
        offset = np.frombuffer(data, "<f4", dim, start).astype("float32")
        scale = np.frombuffer(data, "<f4", dim, start + 4 * dim).astype("float32")
        levels = _unpack(body, n * dim, bits).reshape(n, dim)
        return cls(levels, bits, offset, scale, shape, fingerprint)


# ----- compress, decompress, report --------------------------------------------------------


def compress(model: AutoencoderLike, x: Any, bits: int | None = 8, *, batch_size: int = 256,
             condition: Any = None) -> CompressedBatch:
    """Encode a batch with `model.encode` and quantise the codes to `bits` bits (1..16) per
    value, or keep them as float32 when `bits` is None (lossless apart from the model)."""
    bits = check_bits(bits)
    batch_size = check_int(batch_size, "batch_size")
    x = check_data(x, tuple(model.data_shape), "x")
    z = model.encode(x, batch_size=batch_size, **condition_kwargs(condition))
    return CompressedBatch.from_codes(z, bits, tuple(model.data_shape), model_fingerprint(model))


def decompress(model: GenerativeLike, compressed: CompressedBatch | bytes, *,
               batch_size: int = 256, condition: Any = None) -> np.ndarray:
    """Reconstructions (N, *data_shape) from a CompressedBatch or its bytes, via `model.decode`.

    A conditional model needs the same `condition` labels as `compress` got: they are side
    information and are not stored. ValueError when the codes were made by another model (its
    weights fingerprint differs) or when codes or reconstructions are not finite.
    """
    require_decoder(model, "its codes cannot be decompressed")
    if isinstance(compressed, (bytes, bytearray, memoryview)):
        compressed = CompressedBatch.from_bytes(compressed)
    if not isinstance(compressed, CompressedBatch):
        raise ValueError(f"compressed must be a CompressedBatch or its bytes; got "
                         f"{type(compressed).__name__}.")
    _check_model_matches(model, compressed)
    batch_size = check_int(batch_size, "batch_size")
    z = compressed.dequantize()
    if not np.all(np.isfinite(z)):
        raise ValueError("compressed codes dequantise to non-finite values (offset + level * "
                         "scale overflows float32): the data is corrupt or crafted.")
    out = np.asarray(model.decode(z, batch_size=batch_size, **condition_kwargs(condition)))
    if not np.all(np.isfinite(out)):
        raise ValueError(f"decoding these codes gives non-finite output (largest |code| "
                         f"{float(np.abs(z).max()):.3g}): they are far outside anything "
                         "the model encodes; the data is corrupt or crafted.")
    return out


def compression_report(model: GenerativeLike, x: Any, bits: int | None = 8, *,
                       batch_size: int = 256, data_range: float = 1.0,
                       condition: Any = None) -> dict:
    """Sizes, ratios and PSNR of compressing `x` with `model` at `bits` bits per code value.

    Sizes are of the whole batch. `original_bytes_float32` counts x as float32 (4 bytes per
    value, as the model takes it); `original_bytes_uint8` counts it as 8-bit pixels (1 byte
    per value), the fairer baseline for images. `compressed_bytes` is `len(to_bytes())`,
    header, ranges and checksum included, so tiny batches compress worse. PSNR values are
    means over examples (`kerasae.metrics.psnr`, `data_range` the span of valid values);
    `psnr_loss_db` is what quantising the codes costs versus decoding unquantised codes.
    """
    require_decoder(model, "its codes cannot be decompressed")
    bits = check_bits(bits)
    batch_size = check_int(batch_size, "batch_size")
    x = check_data(x, tuple(model.data_shape), "x")
    extra = condition_kwargs(condition)
    z = model.encode(x, batch_size=batch_size, **extra)
    packed = CompressedBatch.from_codes(z, bits, tuple(model.data_shape))
    exact = model.decode(np.asarray(z, dtype="float32"), batch_size=batch_size, **extra)
    approx = model.decode(packed.dequantize(), batch_size=batch_size, **extra)
    psnr_exact = float(np.mean(psnr(x, exact, data_range)))
    psnr_approx = float(np.mean(psnr(x, approx, data_range)))
    compressed = packed.nbytes
    return {
        "examples": len(x),
        "bits": bits,
        "latent_dim": packed.latent_dim,
        "original_bytes_float32": 4 * x.size,
        "original_bytes_uint8": x.size,
        "compressed_bytes": compressed,
        "payload_bytes": _payload_size(packed.codes.size, bits),
        "bytes_per_example": compressed / len(x),
        "ratio_vs_float32": 4 * x.size / compressed,
        "ratio_vs_uint8": x.size / compressed,
        "psnr_db": psnr_approx,
        "psnr_unquantized_db": psnr_exact,
        "psnr_loss_db": psnr_exact - psnr_approx,
    }


# ----- helpers -----------------------------------------------------------------------------


def model_fingerprint(model: Any) -> bytes | None:
    """First 8 bytes of a sha256 over the model's weights: each weight's shape and its values
    as little-endian float32, in `model.weights` order (the same on every backend). None for
    an object without Keras weights (its codes are then checked by shape only)."""
    weights = getattr(model, "weights", None)
    if not weights:
        return None
    digest = hashlib.sha256()
    for weight in weights:
        value = np.asarray(to_numpy(weight), dtype="<f4")
        digest.update(struct.pack(f"<{value.ndim + 1}I", value.ndim, *value.shape))
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.digest()[:FINGERPRINT_BYTES]


def check_bits(bits: Any) -> int | None:
    """None (float32 codes) or an integer in 1..MAX_BITS."""
    if bits is None:
        return None
    return check_int(bits, "bits (or None for float32 codes)", maximum=MAX_BITS)


def _codes_array(z: Any, what: str) -> np.ndarray:
    z = np.asarray(z)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(f"{what} must be codes of shape (N, latent_dim) with N >= 1; "
                         f"got shape {z.shape}.")
    return check_data(z, (z.shape[1],), what)


def _level_dtype(bits: int) -> str:
    return "uint8" if bits <= 8 else "uint16"


def _quantiser(z: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 per-dimension minimum and step, the step nudged up until the float32 grid
    reaches each dimension's maximum (so rounding float64 -> float32 cannot clip values)."""
    low = z.min(axis=0).astype("float64")
    high = z.max(axis=0).astype("float64")
    offset = low.astype("float32")
    scale = ((high - offset) / (2**bits - 1)).astype("float32")
    short = offset.astype("float64") + (2**bits - 1) * scale.astype("float64") < high
    scale[short] = np.nextafter(scale[short], np.float32(np.inf))
    return offset, scale


def _payload_size(count: int, bits: int | None) -> int:
    return 4 * count if bits is None else -(-count * bits // 8)


def _pack(levels: np.ndarray, bits: int) -> bytes:
    """Integers < 2**bits as a bit stream, most significant bit first."""
    flat = levels.reshape(-1).astype("uint32")
    shifts = np.arange(bits - 1, -1, -1, dtype="uint32")
    return np.packbits(((flat[:, None] >> shifts) & 1).astype("uint8")).tobytes()


def _unpack(payload: bytes, count: int, bits: int) -> np.ndarray:
    stream = np.unpackbits(np.frombuffer(payload, "uint8"), count=count * bits)
    weights = (np.uint32(1) << np.arange(bits - 1, -1, -1, dtype="uint32"))
    return (stream.reshape(count, bits).astype("uint32") @ weights).astype(_level_dtype(bits))


def _read_header(data: bytes
                 ) -> tuple[int | None, tuple[int, ...], int, int, bytes | None, int]:
    """(bits, data_shape, examples, latent_dim, fingerprint, offset of the ranges) from a byte
    string."""
    if len(data) < _HEADER.size:
        raise ValueError(f"compressed data is truncated: {len(data)} bytes is shorter than the "
                         f"{_HEADER.size}-byte header.")
    magic, version, bits, rank, _, n, dim = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ValueError(f"not kerasae compressed data: expected it to start with {MAGIC!r}; "
                         f"got {magic!r}.")
    if version not in READABLE_VERSIONS:
        raise ValueError(f"compressed data has format version {version}; this kerasae reads "
                         f"versions {', '.join(map(str, READABLE_VERSIONS))}.")
    if bits > MAX_BITS or n == 0 or dim == 0:
        raise ValueError(f"compressed data is corrupt: its header says bits={bits}, "
                         f"examples={n}, latent_dim={dim}.")
    extra = FINGERPRINT_BYTES if version >= 2 else 0
    start = _HEADER.size + extra + _U32.size * rank
    if len(data) < start:
        raise ValueError("compressed data is truncated inside its header.")
    fingerprint = data[_HEADER.size: _HEADER.size + extra] or None
    if fingerprint == bytes(FINGERPRINT_BYTES):
        fingerprint = None
    shape = struct.unpack_from(f"<{rank}I", data, _HEADER.size + extra)
    return (bits or None), tuple(shape), n, dim, fingerprint, start


def _check_batch(batch: CompressedBatch) -> None:
    """Reject a hand-built CompressedBatch whose parts do not fit together."""
    bits, codes = check_bits(batch.bits), batch.codes
    if not isinstance(codes, np.ndarray) or codes.ndim != 2 or 0 in codes.shape:
        raise ValueError(f"codes must be a (N, latent_dim) array with N >= 1; got "
                         f"{getattr(codes, 'shape', type(codes).__name__)}.")
    if batch.fingerprint is not None and (
        not isinstance(batch.fingerprint, bytes) or len(batch.fingerprint) != FINGERPRINT_BYTES
    ):
        raise ValueError(f"fingerprint must be {FINGERPRINT_BYTES} bytes or None; got "
                         f"{batch.fingerprint!r}.")
    if bits is None:
        if codes.dtype != np.float32:
            raise ValueError(f"codes must be float32 when bits is None; got {codes.dtype}.")
        if not np.all(np.isfinite(codes)):
            raise ValueError("float32 codes must be finite; got NaN or infinity: the data is "
                             "corrupt.")
        return
    if codes.dtype != np.dtype(_level_dtype(bits)) or int(codes.max()) >= 2**bits:
        raise ValueError(f"codes must be {_level_dtype(bits)} levels below 2**{bits}; got "
                         f"{codes.dtype} with maximum {codes.max()}.")
    for name in ("offset", "scale"):
        value = getattr(batch, name)
        if not isinstance(value, np.ndarray) or value.shape != (codes.shape[1],) or (
            not np.all(np.isfinite(value))
        ):
            raise ValueError(f"{name} must be a finite ({codes.shape[1]},) array when bits is "
                             f"set; got {value!r}.")
    if np.any(np.asarray(batch.scale) < 0):
        raise ValueError(f"scale (the step between levels) must be >= 0; got {batch.scale!r}.")


def _check_model_matches(model: Any, compressed: CompressedBatch) -> None:
    latent_dim = int(model.latent_dim)
    if compressed.latent_dim != latent_dim:
        raise ValueError(f"compressed codes have latent_dim {compressed.latent_dim}, but the "
                         f"model decodes latent_dim {latent_dim}: use the model that "
                         "compressed them.")
    shape = tuple(model.data_shape)
    if compressed.data_shape and compressed.data_shape != shape:
        raise ValueError(f"compressed codes came from data of shape {compressed.data_shape}, "
                         f"but the model's data shape is {shape}: use the model that "
                         "compressed them.")
    if compressed.fingerprint is not None:
        mine = model_fingerprint(model)
        if mine is not None and mine != compressed.fingerprint:
            raise ValueError(
                f"compressed codes were made by a model with weights fingerprint "
                f"{compressed.fingerprint.hex()}, but this model's is {mine.hex()}: codes only "
                "mean something to the model that compressed them (same preset, same weights).")
