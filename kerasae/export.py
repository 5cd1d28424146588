"""Export for serving: a TF SavedModel with named endpoints, or one ONNX file per endpoint.

Endpoints are the model's deterministic Functional graphs (`model.endpoint(name)`): encode
(posterior mean for VAEs, no sampling), decode, reconstruct, reconstruction_error, and for VAEs
encode_distribution. The artefacts load without kerasae: `tf.saved_model.load(path).encode(x)`
or `onnxruntime.InferenceSession(path / "encode.onnx")`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import keras

from kerasae._checks import check_choice
from kerasae.hub.integrity import atomic_directory

FORMATS = ("tf_saved_model", "onnx")


def export(
    model: keras.Model,
    path: str | os.PathLike,
    format: str = "tf_saved_model",
    endpoints: Sequence[str] | None = None,
) -> Path:
    """Write `model`'s serving endpoints to `path` (a folder), atomically.

    tf_saved_model: one SavedModel whose signatures are named after the endpoints, plus
    `serve` (= reconstruct). onnx: `<endpoint>.onnx` per endpoint. Where Keras cannot write the
    format from the current backend (a SavedModel from torch; ONNX from JAX, which would need
    the jax2onnx package; ONNX of layers torch's exporter refuses), the same weights are
    exported on the TensorFlow backend in a subprocess (TensorFlow must be installed).
    """
    check_choice(format, FORMATS, "format")
    names = list(endpoints or model.ENDPOINTS)
    for name in names:
        check_choice(name, model.ENDPOINTS, "endpoint")
    path = Path(path)
    if (format, keras.backend.backend()) in (("tf_saved_model", "torch"), ("onnx", "jax")):
        _export_in_tensorflow_subprocess(model, path, format, names)
        return path
    try:
        with atomic_directory(path) as tmp:
            if format == "tf_saved_model":
                _write_saved_model(model, tmp, names)
            else:
                for name in names:
                    endpoint = model.endpoint(name)
                    endpoint.export(str(tmp / f"{name}.onnx"), format="onnx", verbose=False,
                                    input_signature=_signature(endpoint))
    except Exception:
        # torch's ONNX exporter refuses some layers Keras builds (LayerNormalization, in the
        # masked autoencoder); the TensorFlow route handles them.
        if (format, keras.backend.backend()) != ("onnx", "torch"):
            raise
        _export_in_tensorflow_subprocess(model, path, format, names)
    return path


def _signature(endpoint: keras.Model) -> list:
    specs = [keras.InputSpec(shape=(None, *t.shape[1:]), dtype=t.dtype) for t in endpoint.inputs]
    return [specs] if len(specs) > 1 else specs


def _write_saved_model(model: keras.Model, folder: Path, names: list[str]) -> None:
    archive = keras.export.ExportArchive()
    # Track the model once: every endpoint reads a subset of its variables (tracking each
    # endpoint would list shared variables several times, which breaks the JAX export).
    archive.track(model)
    for name in names + (["serve"] if "reconstruct" in names else []):
        endpoint = model.endpoint("reconstruct" if name == "serve" else name)
        archive.add_endpoint(name, endpoint, _signature(endpoint))
    archive.write_out(str(folder), verbose=False)


def _export_in_tensorflow_subprocess(model: keras.Model, path: Path, format: str,
                                     names: list[str]) -> None:
    from kerasae.hub.preset import save_preset

    try:
        import tensorflow  # noqa: F401
    except ImportError:
        raise RuntimeError(
            f"format={format!r} cannot be written from the {keras.backend.backend()} backend, "
            "and exporting through the TensorFlow backend needs tensorflow: "
            "pip install 'kerasae[tensorflow]'."
        ) from None
    with tempfile.TemporaryDirectory() as scratch:
        preset = save_preset(model, Path(scratch) / "preset")
        code = (
            "import sys, kerasae; "
            "m = kerasae.hub.load_preset(sys.argv[1], compile=False); "
            "kerasae.export(m, sys.argv[2], sys.argv[3], sys.argv[4].split(','))"
        )
        env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
        result = subprocess.run(
            [sys.executable, "-c", code, str(preset), str(path), format, ",".join(names)],
            env=env, capture_output=True, text=True,
        )
    if result.returncode != 0:
        raise RuntimeError(
            "exporting through the TensorFlow backend failed; nothing was written to "
            f"{path}.\n{result.stderr[-3000:]}"
        )
