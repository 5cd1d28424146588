"""Fuzzing what users and files can throw at kerasae: random command lines, and corrupted
codec bytes and index files. The answer is always a clean result or one clear error."""

from __future__ import annotations

import functools
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kerasae
from kerasae import cli
from kerasae.apps.codec import compress, decompress
from kerasae.apps.retrieval import LatentIndex

# FUZZ_EXAMPLES=400 for a longer hunt; the suite runs 40 per test, the same ones every time.
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")), deadline=None,
                derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])


# ----- the command line --------------------------------------------------------------------


@functools.cache
def _preset(handle: str):
    return kerasae.load(handle, compile=False)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Input files of every kind, and presets loaded once (cli._load is the slow part)."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "digits.npy", rng.uniform(0, 1, (3, 28, 28, 1)).astype("float32"))
    np.save(tmp_path / "labels.npy", np.array([0, 1, 0]))
    np.savez(tmp_path / "empty.npz")
    (tmp_path / "fake.png").write_text("not a picture")
    (tmp_path / "notes.txt").write_text("0 1 0")
    (tmp_path / "é ünïcode.npy").write_bytes(b"\x93NUMPY\x01\x00")

    def load(handle):
        if handle not in ("vae_mnist", "ae_mnist"):
            raise ValueError(f"unknown preset {handle!r}")
        return _preset(handle)

    monkeypatch.setattr(cli, "_load", load)
    return tmp_path


FILES = ["digits.npy", "labels.npy", "empty.npz", "fake.png", "notes.txt", "é ünïcode.npy",
         "missing.npy", "", "."]
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", " ", "1e400", "0x10", "٣", "-0", "nan", "3"]),
    st.text(max_size=6),
)
OPTIONS = {
    "generate": ["-n", "--seed", "--condition"],
    "traverse": ["--index", "--dims", "--span"],
    "retrieve": ["-k"],
    "anomaly": ["--contamination", "--labels", "--method"],
    "reconstruct": [],
    "info": [],
}
POSITIONAL = {"generate": 0, "traverse": 1, "retrieve": 2, "anomaly": 2, "reconstruct": 1,
              "info": 0}


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(sorted(OPTIONS)))
    handle = draw(st.sampled_from(["vae_mnist", "ae_mnist", "nope", "", "./missing"]))
    argv = [command, handle]
    argv += [draw(st.sampled_from(FILES)) for _ in range(POSITIONAL[command])]
    chosen = draw(st.lists(st.sampled_from(OPTIONS[command]), max_size=3)) if OPTIONS[command] \
        else []
    for option in chosen:
        value = draw(st.sampled_from(FILES)) if option == "--labels" else draw(NUMBERS)
        argv += [option, value]
    return argv


@FUZZ
@given(argv=command_lines())
def test_random_command_lines_succeed_or_fail_in_one_line(workdir, argv, capsys,
                                                          monkeypatch):
    monkeypatch.chdir(workdir)
    out = workdir / "out"
    try:
        code = cli.main([*argv, "--out", "out"] if argv[0] != "info" else argv)
    except SystemExit as stop:
        code = stop.code
    _, err = capsys.readouterr()
    assert code in (0, 2), (argv, err)
    assert "Traceback" not in err, err
    if code == 2:
        errors = [line for line in err.strip().splitlines() if "error:" in line]
        assert len(errors) == 1 and err.strip().endswith(errors[0]), (argv, err)
        assert not out.exists(), (argv, err)
    if out.exists():
        for child in out.iterdir():
            child.unlink()
        out.rmdir()


# ----- codec bytes -------------------------------------------------------------------------


@functools.cache
def _codec():
    model = kerasae.build("ae", input_shape=(6,), latent_dim=3, hidden_units=(8,))
    x = np.random.default_rng(1).uniform(0, 1, (5, 6)).astype("float32")
    packed = compress(model, x, bits=5)
    return model, packed.to_bytes(), decompress(model, packed)


@FUZZ
@given(data=st.data())
def test_corrupt_codec_bytes_are_refused_or_decode_correctly(data):
    model, good, expected = _codec()
    blob = bytearray(good)
    mutation = data.draw(st.sampled_from(["flip", "truncate", "extend", "recrc"]))
    if mutation == "truncate":
        blob = blob[: data.draw(st.integers(0, len(blob) - 1))]
    elif mutation == "extend":
        blob += data.draw(st.binary(min_size=1, max_size=8))
    else:
        for _ in range(data.draw(st.integers(1, 4))):
            blob[data.draw(st.integers(0, len(blob) - 5))] = data.draw(st.integers(0, 255))
        if mutation == "recrc":  # a crafted body with a valid checksum
            blob[-4:] = struct.pack("<I", zlib.crc32(bytes(blob[:-4])))
    try:
        result = decompress(model, bytes(blob))
    except ValueError as error:
        assert str(error)
        return
    assert result.shape[1:] == (6,) and np.all(np.isfinite(result))
    if bytes(blob) == good:
        np.testing.assert_array_equal(result, expected)
    else:
        assert mutation == "recrc"  # only a recomputed checksum lets changed bytes through


# ----- index files -------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_corrupt_index_files_are_refused_or_load_valid(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("index")
    index = LatentIndex()
    index.add_embeddings(np.random.default_rng(2).normal(size=(4, 3)), ids=["a", "b", "c", "d"])
    path = Path(index.save(folder / "index.npz"))
    blob = bytearray(path.read_bytes())
    cut = data.draw(st.booleans())
    if cut:
        blob = blob[: data.draw(st.integers(0, len(blob) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 6))):
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    path.write_bytes(bytes(blob))
    try:
        back = LatentIndex.load(path)
    except ValueError as error:
        assert str(path) in str(error), error
        return
    vectors = back.embeddings
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)
    assert len(set(back.ids.tolist())) == len(back) == len(vectors)
