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
from kerasae.export import MARKER

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

OUTPUT_NAMES = {"encode": ["code"], "decode": ["reconstruction"],
                "reconstruct": ["reconstruction"], "reconstruction_error": ["error"],
                "encode_distribution": ["mean", "log_var"]}


def predict(saved, body):
    """What TF Serving's REST predict does with a row-format body: stack the instances per
    named input, call the named signature (serving_default when the body names none)."""
    signature = saved.signatures[body.get("signature_name", "serving_default")]
    _, specs = signature.structured_input_signature
    rows = body["instances"]
    if not isinstance(rows[0], dict):  # one input: instances are its values
        (name,) = specs
        rows = [{name: row} for row in rows]
    feed = {name: tf.constant([row[name] for row in rows], dtype=spec.dtype)
            for name, spec in specs.items()}
    return {name: tensor.numpy().tolist() for name, tensor in signature(**feed).items()}


root = Path(sys.argv[1])
spec = json.loads((root / "spec.json").read_text())
outputs, names = {}, {}
for name, endpoints in spec["endpoints"].items():
    data = np.load(root / f"{name}_inputs.npz")
    saved = tf.saved_model.load(str(root / name / "tf_saved_model"))
    for endpoint in endpoints + ["serving_default"]:
        feed = {"z" if endpoint == "decode" else "x": data["z" if endpoint == "decode" else "x"]}
        if "labels" in data:
            feed["labels"] = data["labels"]
        signature = saved.signatures[endpoint]
        names[f"{name}/tf_saved_model/{endpoint}"] = [
            sorted(signature.structured_input_signature[1]), sorted(signature.structured_outputs)]
        order = OUTPUT_NAMES["reconstruct" if endpoint == "serving_default" else endpoint]
        for call in ("first", "second"):
            result = signature(**{k: tf.constant(v) for k, v in feed.items()})
            for i, key in enumerate(order):
                outputs[f"{name}/tf_saved_model/{endpoint}/{call}/{i}"] = result[key].numpy()
        if endpoint == "serving_default":
            continue
        session = onnxruntime.InferenceSession(str(root / name / "onnx" / f"{endpoint}.onnx"),
                                               providers=["CPUExecutionProvider"])
        names[f"{name}/onnx/{endpoint}"] = [sorted(i.name for i in session.get_inputs()),
                                            sorted(o.name for o in session.get_outputs())]
        for call in ("first", "second"):
            for i, array in enumerate(session.run(order, feed)):
                outputs[f"{name}/onnx/{endpoint}/{call}/{i}"] = array
    for label, body in json.loads((root / f"{name}_requests.json").read_text()).items():
        answer = predict(saved, body)
        for key, value in answer.items():
            outputs[f"{name}/rest/{label}/{key}"] = np.asarray(value)
np.savez(root / "outputs.npz", **outputs)
(root / "facts.json").write_text(json.dumps({"kerasae_imported": "kerasae" in sys.modules,
                                             "names": names}))
'''


def rest_requests(x: np.ndarray, labels: np.ndarray | None) -> dict[str, dict]:
    """TF Serving REST bodies as the README shows them: row format, one object per example
    with the named inputs, or bare values for serving_default with a single input."""
    rows = [{"x": row.tolist()} for row in x]
    if labels is not None:
        for row, label in zip(rows, labels, strict=True):
            row["labels"] = int(label)
    bodies = {"encode": {"signature_name": "encode", "instances": rows},
              "default": {"instances": rows if labels is not None else x.tolist()}}
    return bodies


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
        (root / f"{name}_requests.json").write_text(json.dumps(
            rest_requests(x, arrays.get("labels"))))
        expected[name] = expected_outputs(model, name, x, z, kwargs)
        endpoints[name] = list(model.ENDPOINTS)
        for format in FORMATS:
            (root / name / format).mkdir(parents=True)  # an earlier export, to be replaced
            (root / name / format / "stale.txt").write_text("a folder the user asks to replace")
            path = kerasae.export(model, root / name / format, format=format, overwrite=True)
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
    assert exported["facts"]["kerasae_imported"] is False


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
    """Fails if the SavedModel's `serving_default` signature (what TF Serving answers when a
    request names no signature) is not the reconstruction."""
    (got,) = served(exported, name, "tf_saved_model", "serving_default")
    np.testing.assert_allclose(got, exported["expected"][name]["reconstruct"][0], atol=1e-5)


def test_inputs_and_outputs_carry_names(exported):
    """Fails if a SavedModel signature or an ONNX file does not name its inputs x / z (+ labels
    for the cvae) and its outputs code, reconstruction, error, mean, log_var."""
    names = exported["facts"]["names"]
    for name in MODELS:
        labels = ["labels"] if name == "cvae" else []
        for format in FORMATS:
            for endpoint, outputs in [("encode", ["code"]), ("decode", ["reconstruction"]),
                                      ("reconstruct", ["reconstruction"]),
                                      ("reconstruction_error", ["error"])]:
                data = "z" if endpoint == "decode" else "x"
                assert names[f"{name}/{format}/{endpoint}"] == [sorted([data, *labels]),
                                                                 outputs], (name, endpoint)
            if name != "conv_ae":
                assert names[f"{name}/{format}/encode_distribution"][1] == ["log_var", "mean"]
        assert names[f"{name}/tf_saved_model/serving_default"][1] == ["reconstruction"]
        marker = json.loads((exported["root"] / name / "onnx" / MARKER).read_text())
        assert marker["endpoints"]["encode"] == {"inputs": ["x", *labels], "outputs": ["code"]}


@pytest.mark.parametrize("name", MODELS)
def test_tf_serving_rest_request_gives_the_models_answer(exported, name):
    """Fails if a TF Serving REST body (as the README shows it) fed to the loaded SavedModel's
    named signature does not give model.encode / model.reconstruct."""
    outputs, expected = exported["outputs"], exported["expected"][name]
    np.testing.assert_allclose(outputs[f"{name}/rest/encode/code"], expected["encode"][0],
                               atol=1e-5)
    np.testing.assert_allclose(outputs[f"{name}/rest/default/reconstruction"],
                               expected["reconstruct"][0], atol=1e-5)


def test_export_folders_hold_the_endpoints(exported):
    """Fails if an export folder misses its SavedModel or its marker, holds other files than
    one ONNX file per endpoint, or keeps a file of the folder it replaced (on every backend,
    including the formats written through the TensorFlow subprocess)."""
    for name in MODELS:
        folder = exported["root"] / name
        assert (folder / "tf_saved_model" / "saved_model.pb").is_file()
        assert (folder / "tf_saved_model" / MARKER).is_file()
        assert not (folder / "tf_saved_model" / "stale.txt").exists()
        assert sorted(p.name for p in (folder / "onnx").iterdir()) == sorted(
            [MARKER, *(f"{endpoint}.onnx" for endpoint in exported["endpoints"][name])])
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


def test_bad_arguments_are_refused_before_anything_is_written(tmp_path):
    """Fails if export accepts no model, an empty or repeated endpoint list, a bad version or
    serving_default, or writes anything for them."""
    ae = build("ae")
    cases = [
        ((None, tmp_path / "out"), {}, "kerasae model"),
        ((ae, tmp_path / "out"), {"endpoints": []}, "non-empty list"),
        ((ae, tmp_path / "out"), {"endpoints": ["encode", "encode"]}, "twice"),
        ((ae, tmp_path / "out"), {"version": 0}, "positive integer"),
        ((ae, tmp_path / "out"), {"version": True}, "positive integer"),
        ((ae, tmp_path / "out"), {"serving_default": "sample"}, "serving_default"),
    ]
    for args, kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            kerasae.export(*args, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_nonfinite_weights_are_not_exported(tmp_path):
    """Fails if a model whose weights hold NaN is exported."""
    ae = build("ae")
    ae.set_weights([np.full_like(w, np.nan) for w in ae.get_weights()])
    with pytest.raises(ValueError, match="NaN"):
        kerasae.export(ae, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("format", NATIVE)
def test_export_never_replaces_what_it_did_not_write(tmp_path, format):
    """Fails if exporting over a user's folder or file deletes or changes anything without
    overwrite=True, if a file is replaced even with it, or if an earlier export is not
    replaced whole (stale endpoints gone, no temporaries)."""
    model = build("vae")
    target = tmp_path / "out"
    (target / "old").mkdir(parents=True)
    (target / "precious.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"precious\.txt.*overwrite=True"):
        kerasae.export(model, target, format=format, endpoints=["encode"])
    assert (target / "precious.txt").read_text() == "mine" and (target / "old").is_dir()
    (tmp_path / "file").write_text("mine")
    with pytest.raises(ValueError, match="is a file.*even with overwrite=True"):
        kerasae.export(model, tmp_path / "file", format=format, overwrite=True)
    assert (tmp_path / "file").read_text() == "mine"

    kerasae.export(model, target, format=format, endpoints=["encode", "decode"],
                   overwrite=True)
    kerasae.export(model, target, format=format, endpoints=["encode"])  # an earlier export
    names = sorted(p.name for p in target.iterdir())
    marker = json.loads((target / MARKER).read_text())
    assert sorted(marker["files"]) == sorted(set(names) - {MARKER})
    if format == "onnx":
        assert names == sorted(["encode.onnx", MARKER])
    else:
        assert "saved_model.pb" in names and "precious.txt" not in names
        assert list(marker["endpoints"]) == ["reconstruct", "encode"]  # serving_default first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "out"]


def test_versioned_saved_model_and_chosen_default(tmp_path):
    """Fails if version=N does not write path/N/ (leaving the other versions alone), or
    serving_default= does not choose the default signature."""
    model = build("ae")
    format = NATIVE[0]
    (tmp_path / "serving" / "7").mkdir(parents=True)
    (tmp_path / "serving" / "7" / "keep.txt").write_text("another version")
    path = kerasae.export(model, tmp_path / "serving", format=format, version=2,
                          serving_default="encode", endpoints=["decode"])
    assert path == tmp_path / "serving" / "2"
    assert (tmp_path / "serving" / "7" / "keep.txt").read_text() == "another version"
    marker = json.loads((path / MARKER).read_text())
    if format == "tf_saved_model":
        assert marker["serving_default"] == "encode"
        assert list(marker["endpoints"]) == ["encode", "decode"]
    else:
        assert list(marker["endpoints"]) == ["decode"]


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
    def failing_run(args, env):
        return subprocess.CompletedProcess(args, 1, "", "Traceback: exporter crashed")

    monkeypatch.setattr(sys.modules["kerasae.export"], "_run_child", failing_run)


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
        previous = tmp_path / "kept"  # an earlier export, as its marker says
        previous.mkdir()
        (previous / "encode.onnx").write_bytes(b"an earlier export")
        (previous / MARKER).write_text(json.dumps({"files": ["encode.onnx"]}))
        before = {p: p.read_bytes() for p in previous.iterdir()}
        break_tensorflow_route(monkeypatch)
        expected_error = "TensorFlow backend failed"
    with pytest.raises(RuntimeError, match=expected_error):
        kerasae.export(model, tmp_path / "new", format=format, endpoints=["encode", "decode"])
    with pytest.raises(RuntimeError, match=expected_error):
        kerasae.export(model, previous, format=format, endpoints=["encode", "decode"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]
    assert {p: p.read_bytes() for p in previous.rglob("*") if p.is_file()} == before
