"""Serving exports: a TF SavedModel with named endpoints and one ONNX file per endpoint, for a
deterministic model, a VAE and the CVAE; both read back WITHOUT kerasae (TensorFlow and
onnxruntime only) and compared with the Keras model's numpy methods.

Runs once per backend. The artefacts are checked in one subprocess; on JAX (ONNX) and torch
(SavedModel) kerasae itself exports through a TensorFlow-backend subprocess per model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from variant_specs import SPECS, method_kwargs

import kerasae

BACKEND = keras.backend.backend()
MODELS = ("conv_ae", "vae", "cvae")
FORMATS = ("tf_saved_model", "onnx")
# Formats this backend writes itself; the others go through a TensorFlow subprocess.
NATIVE = {"tensorflow": FORMATS, "jax": ("tf_saved_model",), "torch": ("onnx",)}[BACKEND]
N = 5

READER = r'''
import json, sys
from pathlib import Path
import numpy as np
import onnxruntime
import tensorflow as tf

root = Path(sys.argv[1])
spec = json.loads((root / "spec.json").read_text())
outputs = {}
for name, endpoints in spec["endpoints"].items():
    data = np.load(root / f"{name}_inputs.npz")
    labels = [data["labels"]] if "labels" in data else []
    saved = tf.saved_model.load(str(root / name / "tf_saved_model"))
    for endpoint in endpoints + ["serve"]:
        inputs = [data["z" if endpoint == "decode" else "x"], *labels]
        fn = getattr(saved, endpoint)
        for call in ("first", "second"):
            result = fn(inputs if labels else inputs[0])
            result = result if isinstance(result, (list, tuple)) else [result]
            for i, tensor in enumerate(result):
                outputs[f"{name}/tf_saved_model/{endpoint}/{call}/{i}"] = tensor.numpy()
        if endpoint == "serve":
            continue
        session = onnxruntime.InferenceSession(str(root / name / "onnx" / f"{endpoint}.onnx"),
                                               providers=["CPUExecutionProvider"])
        feed = {i.name: a for i, a in zip(session.get_inputs(), inputs, strict=True)}
        for call in ("first", "second"):
            for i, array in enumerate(session.run(None, feed)):
                outputs[f"{name}/onnx/{endpoint}/{call}/{i}"] = array
np.savez(root / "outputs.npz", **outputs)
(root / "facts.json").write_text(json.dumps({"kerasae_imported": "kerasae" in sys.modules}))
'''


def build(name: str) -> keras.Model:
    return kerasae.build(name, **SPECS[name]["kwargs"])


def expected_outputs(model, name: str, x, z, kwargs) -> dict[str, list[np.ndarray]]:
    """What each endpoint must return, from the Keras model's numpy methods."""
    want = {
        "encode": [model.encode(x, **kwargs)],
        "decode": [model.decode(z, **kwargs)],
        "reconstruct": [model.reconstruct(x, **kwargs)],
        "reconstruction_error": [model.reconstruction_error(x, **kwargs)],
    }
    if "encode_distribution" in model.ENDPOINTS:
        want["encode_distribution"] = list(model.encode_distribution(x, **kwargs))
    return want


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Every model of MODELS exported in both formats, then read back in one subprocess."""
    keras.utils.set_random_seed(0)
    root = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(2)
    expected, endpoints = {}, {}
    for name in MODELS:
        model = build(name)
        x = SPECS[name]["data"](N, 1)
        kwargs = method_kwargs(name, N, 1)
        z = rng.standard_normal((N, model.latent_dim)).astype("float32")
        arrays = {"x": x, "z": z}
        if kwargs:
            arrays["labels"] = kwargs["condition"].astype("int32")
        np.savez(root / f"{name}_inputs.npz", **arrays)
        expected[name] = expected_outputs(model, name, x, z, kwargs)
        endpoints[name] = list(model.ENDPOINTS)
        for format in FORMATS:
            (root / name / format).mkdir(parents=True)  # an earlier export, to be replaced
            (root / name / format / "stale.txt").write_text("from an earlier export")
            path = kerasae.export(model, root / name / format, format=format)
            assert path == root / name / format
    (root / "spec.json").write_text(json.dumps({"endpoints": endpoints}))

    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    script = root / "read.py"
    script.write_text(READER)
    result = subprocess.run([sys.executable, str(script), str(root)], env=env, cwd=root,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    return {"root": root, "expected": expected, "endpoints": endpoints,
            "outputs": dict(np.load(root / "outputs.npz")),
            "facts": json.loads((root / "facts.json").read_text())}


def served(exported, name: str, format: str, endpoint: str, call: str = "first"):
    outputs = exported["outputs"]
    prefix = f"{name}/{format}/{endpoint}/{call}/"
    return [outputs[f"{prefix}{i}"] for i in range(sum(k.startswith(prefix) for k in outputs))]


def test_artefacts_load_without_kerasae(exported):
    """Fails if reading an export needs kerasae (the reader would have imported it)."""
    assert exported["facts"] == {"kerasae_imported": False}


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("name", MODELS)
def test_endpoints_match_the_keras_model(exported, name, format):
    """Fails if an exported endpoint is missing or its outputs differ from the Keras model's."""
    endpoints = exported["endpoints"][name]
    assert {"encode", "decode", "reconstruct", "reconstruction_error"} <= set(endpoints)
    assert ("encode_distribution" in endpoints) == name.endswith("vae")
    for endpoint in endpoints:
        got, want = served(exported, name, format, endpoint), exported["expected"][name][endpoint]
        assert len(got) == len(want), (endpoint, len(got))
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape, (endpoint, g.shape, w.shape)
            np.testing.assert_allclose(g, w, rtol=0, atol=1e-5, err_msg=endpoint)


@pytest.mark.parametrize("name", MODELS)
def test_saved_model_serves_reconstruct_by_default(exported, name):
    """Fails if the SavedModel's `serve` endpoint is not the reconstruction."""
    (got,) = served(exported, name, "tf_saved_model", "serve")
    np.testing.assert_allclose(got, exported["expected"][name]["reconstruct"][0], atol=1e-5)


def test_export_folders_hold_the_endpoints(exported):
    """Fails if an export folder misses its SavedModel, holds other files than one ONNX file
    per endpoint, or keeps a file of the export it replaced (on every backend, including the
    formats written through the TensorFlow subprocess)."""
    for name in MODELS:
        folder = exported["root"] / name
        assert (folder / "tf_saved_model" / "saved_model.pb").is_file()
        assert not (folder / "tf_saved_model" / "stale.txt").exists()
        assert sorted(p.name for p in (folder / "onnx").iterdir()) == sorted(
            f"{endpoint}.onnx" for endpoint in exported["endpoints"][name])
        assert sorted(p.name for p in folder.iterdir()) == sorted(FORMATS)  # no temporaries


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("name", ["vae", "cvae"])
def test_vae_endpoints_are_deterministic(exported, name, format):
    """Fails if an exported VAE samples: encode must give the posterior mean on every call, and
    reconstruct the decoding of that mean."""
    mean = exported["expected"][name]["encode_distribution"][0]
    for endpoint in ("encode", "reconstruct", "reconstruction_error"):
        first = served(exported, name, format, endpoint)
        np.testing.assert_array_equal(first, served(exported, name, format, endpoint, "second"))
    np.testing.assert_allclose(served(exported, name, format, "encode")[0], mean, atol=1e-5)
    (distribution_mean, _) = served(exported, name, format, "encode_distribution")
    np.testing.assert_allclose(distribution_mean, mean, atol=1e-5)


# ----- arguments and failures (written on this backend, no subprocess) -----------------------


def test_bad_format_and_endpoint(tmp_path):
    """Fails if an unknown format or endpoint is accepted, or anything is written for it."""
    ae = build("conv_ae")
    with pytest.raises(ValueError, match="format"):
        kerasae.export(ae, tmp_path / "out", format="torchscript")
    with pytest.raises(ValueError, match=r"endpoint.*Did you mean 'encode'"):
        kerasae.export(ae, tmp_path / "out", endpoints=["encoder"])
    with pytest.raises(ValueError, match="encode_distribution"):  # VAEs only
        kerasae.export(ae, tmp_path / "out", format="onnx", endpoints=["encode_distribution"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("format", NATIVE)
def test_export_replaces_an_existing_folder(tmp_path, format):
    """Fails if exporting over an existing folder keeps stale files or leaves temporaries."""
    target = tmp_path / "out"
    (target / "old").mkdir(parents=True)
    (target / "old" / "model.onnx").write_text("stale")
    (target / "stale.txt").write_text("stale")
    kerasae.export(build("vae"), target, format=format, endpoints=["encode"])
    names = sorted(p.name for p in target.iterdir())
    if format == "onnx":
        assert names == ["encode.onnx"]
    else:
        assert "saved_model.pb" in names and "stale.txt" not in names and "old" not in names
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def break_native_export(monkeypatch, format: str) -> None:
    """Make the in-process writer of `format` fail after it has written part of the export."""
    if format == "onnx":
        original = keras.Model.export

        def export(self, filepath, *args, **kwargs):
            if Path(filepath).name == "decode.onnx":  # encode.onnx is already written
                raise RuntimeError("exporter crashed")
            return original(self, filepath, *args, **kwargs)

        monkeypatch.setattr(keras.Model, "export", export)
    else:
        archive_class = type(keras.export.ExportArchive())  # the backend's own subclass
        original = archive_class.write_out

        def write_out(self, filepath, *args, **kwargs):
            original(self, filepath, *args, **kwargs)  # the SavedModel is written, then...
            raise RuntimeError("exporter crashed")

        monkeypatch.setattr(archive_class, "write_out", write_out)


def break_tensorflow_route(monkeypatch) -> None:
    """Make the TensorFlow-backend export subprocess fail (without starting one)."""
    def failing_run(args, *rest, **kwargs):
        return subprocess.CompletedProcess(args, 1, "", "Traceback: exporter crashed")

    monkeypatch.setattr(sys.modules["kerasae.export"].subprocess, "run", failing_run)


@pytest.mark.parametrize("format", FORMATS)
def test_failed_export_leaves_no_partial_folder(tmp_path, monkeypatch, format):
    """Fails if a failed export leaves a partial folder (or a temporary one), or damages the
    export that was there. In-process writers fail midway; the TensorFlow route (formats this
    backend cannot write, and torch's fallback when its ONNX exporter fails) fails as a whole."""
    model = build("ae")
    if format in NATIVE:
        previous = kerasae.export(model, tmp_path / "kept", format=format,
                                  endpoints=["encode"])
        before = {p: p.read_bytes() for p in previous.rglob("*") if p.is_file()}
        break_native_export(monkeypatch, format)
        expected_error = "exporter crashed"
        if (format, BACKEND) == ("onnx", "torch"):  # falls back to the TensorFlow route
            break_tensorflow_route(monkeypatch)
            expected_error = "TensorFlow backend failed"
    else:
        previous = tmp_path / "kept"
        previous.mkdir()
        (previous / "encode.onnx").write_bytes(b"an earlier export")
        before = {previous / "encode.onnx": b"an earlier export"}
        break_tensorflow_route(monkeypatch)
        expected_error = "TensorFlow backend failed"
    with pytest.raises(RuntimeError, match=expected_error):
        kerasae.export(model, tmp_path / "new", format=format, endpoints=["encode", "decode"])
    with pytest.raises(RuntimeError, match=expected_error):
        kerasae.export(model, previous, format=format, endpoints=["encode", "decode"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]
    assert {p: p.read_bytes() for p in previous.rglob("*") if p.is_file()} == before
