"""Export for serving: a TF SavedModel with named signatures, or one ONNX file per endpoint.

Endpoints are the model's deterministic Functional graphs (`model.endpoint(name)`): encode
(posterior mean for VAEs, no sampling), decode, reconstruct, reconstruction_error, and for VAEs
encode_distribution. Inputs and outputs carry names, the same in both formats:

    encode                x [, labels]  ->  code
    decode                z [, labels]  ->  reconstruction
    reconstruct           x [, labels]  ->  reconstruction
    reconstruction_error  x [, labels]  ->  error
    encode_distribution   x [, labels]  ->  mean, log_var

(`labels`: the integer classes of a cvae). The SavedModel's `serving_default` signature, the one
TF Serving answers when a request names none, is `reconstruct` unless chosen otherwise. The
artefacts load without kerasae: `tf.saved_model.load(path).signatures["encode"](x=...)` or
`onnxruntime.InferenceSession(path / "encode.onnx")`. Each export folder also holds
`kerasae-export.json` (what was exported, with the names above), by which a later export
recognises a folder it may replace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras

from kerasae._atomic import atomic_directory, check_target
from kerasae._checks import check_choice
from kerasae._version import __version__
from kerasae.hub.integrity import nonfinite_weights

FORMATS = ("tf_saved_model", "onnx")
MARKER = "kerasae-export.json"
OUTPUT_NAMES = {
    "encode": ("code",),
    "decode": ("reconstruction",),
    "reconstruct": ("reconstruction",),
    "reconstruction_error": ("error",),
    "encode_distribution": ("mean", "log_var"),
}


def export(
    model: keras.Model,
    path: str | os.PathLike,
    format: str = "tf_saved_model",
    endpoints: Sequence[str] | None = None,
    version: int | None = None,
    overwrite: bool = False,
    serving_default: str = "reconstruct",
) -> Path:
    """Write `model`'s serving endpoints to a folder, atomically; returns that folder.

    `version=N` writes `path/N/`, the numbered layout TF Serving watches (other versions in
    `path` are left alone). An existing folder is replaced only when it holds an earlier kerasae
    export (or nothing), or with `overwrite=True`; a file at the path is always refused.
    tf_saved_model: one SavedModel with a signature per endpoint plus `serving_default` (the
    `serving_default` endpoint, exported even when `endpoints` leaves it out). onnx:
    `<endpoint>.onnx` per endpoint. Where Keras cannot write the format from the current backend
    (a SavedModel from torch; ONNX from JAX; ONNX of layers torch's exporter refuses), the same
    weights are exported on the TensorFlow backend in a subprocess (TensorFlow must be
    installed; it takes 20-30 s and says so on stderr).
    """
    if not isinstance(model, keras.Model) or not hasattr(model, "endpoint"):
        raise ValueError(f"model must be a kerasae model (from kerasae.build or kerasae.load); "
                         f"got {type(model).__name__} {model!r:.60}.")
    check_choice(format, FORMATS, "format")
    names = _endpoint_names(model, endpoints)
    check_choice(serving_default, model.ENDPOINTS, "serving_default")
    if format == "tf_saved_model":  # the default signature is traced first (see _write)
        names = [serving_default, *(n for n in names if n != serving_default)]
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)
                                or version < 1):
        raise ValueError(f"version must be a positive integer (TF Serving's numbered folder "
                         f"path/<version>/) or None; got {version!r}.")
    target = Path(path) / str(version) if version is not None else Path(path)
    check_target(target, is_export, overwrite, "export")
    bad = nonfinite_weights(model)
    if bad:
        raise ValueError(f"the model's weights hold NaN or infinity ({', '.join(bad[:5])}); "
                         f"nothing was exported to {target}.")
    route = (format, keras.backend.backend())
    if route in (("tf_saved_model", "torch"), ("onnx", "jax")):
        _export_in_tensorflow_subprocess(model, target, format, names, serving_default,
                                         overwrite)
        return target
    try:
        with atomic_directory(target, is_export, overwrite, "export") as tmp:
            _write(model, tmp, format, names, serving_default)
    except Exception:
        # torch's ONNX exporter refuses some layers Keras builds (LayerNormalization, in the
        # masked autoencoder); the TensorFlow route handles them.
        if route != ("onnx", "torch"):
            raise
        _progress("torch's ONNX exporter failed; trying the TensorFlow route")
        _export_in_tensorflow_subprocess(model, target, format, names, serving_default,
                                         overwrite)
    return target


def is_export(folder: Path) -> bool:
    """True when `folder` holds a kerasae export (its marker file lists everything there): only
    such a folder is replaced without overwrite=True."""
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError, RecursionError):
        return False
    if not isinstance(marker, dict) or not isinstance(marker.get("files"), list):
        return False
    known = {MARKER, *map(str, marker["files"])}
    return all(entry.name in known for entry in folder.iterdir())


def _endpoint_names(model: keras.Model, endpoints: Any) -> list[str]:
    if endpoints is None:
        return list(model.ENDPOINTS)
    names = [endpoints] if isinstance(endpoints, str) else endpoints
    if not isinstance(names, (list, tuple)) or not names:
        raise ValueError(f"endpoints must be a non-empty list of {list(model.ENDPOINTS)} (or "
                         f"None for all of them); got {endpoints!r}.")
    for name in names:
        check_choice(name, model.ENDPOINTS, "endpoint")
    if len(set(names)) != len(names):
        raise ValueError(f"endpoints lists a name twice: {list(names)}.")
    return list(names)


def _progress(message: str) -> None:
    """Exports from JAX and torch take tens of seconds: say what is happening, on stderr."""
    if keras.backend.backend() != "tensorflow":
        print(f"kerasae.export: {message}", file=sys.stderr, flush=True)


def _signature(model: keras.Model, name: str) -> tuple[list[str], list]:
    """Input names and tf.TensorSpecs of endpoint `name` (batch axis free)."""
    import tensorflow as tf

    endpoint = model.endpoint(name)
    names = ["z" if name == "decode" else "x", "labels"][: len(endpoint.inputs)]
    specs = [tf.TensorSpec((None, *t.shape[1:]), t.dtype, name=n)
             for t, n in zip(endpoint.inputs, names, strict=True)]
    return names, specs


def _named_outputs(name: str, result) -> dict:
    results = result if isinstance(result, (list, tuple)) else [result]
    return dict(zip(OUTPUT_NAMES[name], results, strict=True))


def _serving_function(model: keras.Model, name: str):
    """The endpoint as a function of named arguments returning a dict of named outputs, so
    the SavedModel signature reads {x[, labels]} -> {reconstruction, ...}."""
    endpoint = model.endpoint(name)
    if len(endpoint.inputs) > 1:
        def conditional(x, labels):
            return _named_outputs(name, endpoint([x, labels]))

        return conditional
    if name == "decode":
        def decode(z):
            return _named_outputs(name, endpoint(z))

        return decode

    def serve(x):
        return _named_outputs(name, endpoint(x))

    return serve


def _write(model: keras.Model, folder: Path, format: str, names: list[str],
           serving_default: str) -> None:
    started = time.monotonic()
    manifest: dict[str, Any] = {}
    if format == "tf_saved_model":
        archive = keras.export.ExportArchive()
        # Track the model once: every endpoint reads a subset of its variables (tracking each
        # endpoint would list shared variables several times, which breaks the JAX export).
        archive.track(model)
        for i, name in enumerate(names):  # the first one is also Keras' "serving_default"
            _progress(f"tracing {name} ({i + 1}/{len(names)})")
            inputs, specs = _signature(model, name)
            archive.add_endpoint(name, _serving_function(model, name), specs)
            manifest[name] = {"inputs": inputs, "outputs": list(OUTPUT_NAMES[name])}
        _progress("writing the SavedModel")
        archive.write_out(str(folder), verbose=False)
    else:
        for i, name in enumerate(names):
            _progress(f"writing {name}.onnx ({i + 1}/{len(names)})")
            endpoint = model.endpoint(name)
            inputs, _ = _signature(model, name)
            specs = [keras.InputSpec(shape=(None, *t.shape[1:]), dtype=t.dtype)
                     for t in endpoint.inputs]
            path = folder / f"{name}.onnx"
            endpoint.export(str(path), format="onnx", verbose=False,
                            input_signature=[specs] if len(specs) > 1 else specs)
            _rename_onnx(path, inputs, list(OUTPUT_NAMES[name]))
            manifest[name] = {"inputs": inputs, "outputs": list(OUTPUT_NAMES[name])}
    marker = {
        "kerasae_export": 1, "format": format, "endpoints": manifest,
        "serving_default": serving_default if format == "tf_saved_model" else None,
        "kerasae_version": __version__, "keras_version": keras.__version__,
        "backend": keras.backend.backend(), "variant": getattr(model, "variant", None),
        "files": sorted(p.name for p in folder.iterdir()),
    }
    (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    _progress(f"done in {time.monotonic() - started:.0f} s")


def _rename_onnx(path: Path, inputs: list[str], outputs: list[str]) -> None:
    """Give an ONNX graph's inputs and outputs the export's names, whatever the exporter
    called them, through Identity nodes (the graph's own tensors keep their names)."""
    import onnx

    proto = onnx.load(str(path))
    graph = proto.graph
    initializers = {t.name for t in graph.initializer}
    feeds = [value for value in graph.input if value.name not in initializers]
    if len(feeds) != len(inputs) or len(graph.output) != len(outputs):
        raise RuntimeError(f"{path.name}: expected inputs {inputs} and outputs {outputs}; the "
                           f"exporter wrote {[v.name for v in feeds]} and "
                           f"{[v.name for v in graph.output]}.")
    taken = {*initializers, *(v.name for v in graph.input), *(v.name for v in graph.output),
             *(o for node in graph.node for o in node.output)}
    renames = [(v, new) for v, new in zip([*feeds, *graph.output], [*inputs, *outputs],
                                          strict=True) if v.name != new]
    clash = [new for _, new in renames if new in taken]
    if clash:
        raise RuntimeError(f"{path.name}: cannot name the graph's inputs/outputs {clash}: the "
                           "exporter already uses those names inside the graph.")
    head = []
    for value, new in renames:
        old = value.name
        value.name = new
        if any(value is feed for feed in feeds):
            head.append(onnx.helper.make_node("Identity", [new], [old], name=f"input_{new}"))
        else:
            graph.node.append(onnx.helper.make_node("Identity", [old], [new],
                                                    name=f"output_{new}"))
    for position, node in enumerate(head):
        graph.node.insert(position, node)
    onnx.save(proto, str(path))


def _run_child(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the export subprocess; it dies with this process (PR_SET_PDEATHSIG, set by the child
    itself on Linux) and is killed if this one is interrupted or fails while waiting."""
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        stdout, stderr = process.communicate()
    except BaseException:
        process.kill()
        process.wait()
        raise
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


# The subprocess's first lines: die with the parent (Linux: PR_SET_PDEATHSIG, set by the child
# itself since preexec_fn is unsafe in a threaded parent; argv[1] is the parent's pid).
DIE_WITH_PARENT = """
import ctypes, os, signal, sys
if sys.platform.startswith("linux"):
    ctypes.CDLL(None).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != int(sys.argv[1]):
        sys.exit("kerasae.export: the parent process is gone")
"""
CHILD = DIE_WITH_PARENT + """
import json, kerasae
model = kerasae.hub.load_preset(sys.argv[2], compile=False)
kerasae.export(model, **json.loads(sys.argv[3]))
"""


def _export_in_tensorflow_subprocess(model: keras.Model, target: Path, format: str,
                                     names: list[str], serving_default: str,
                                     overwrite: bool) -> None:
    from kerasae.hub.preset import save_preset

    try:
        import tensorflow  # noqa: F401
    except ImportError:
        raise RuntimeError(
            f"format={format!r} cannot be written from the {keras.backend.backend()} backend, "
            "and exporting through the TensorFlow backend needs tensorflow: "
            "pip install 'kerasae[tensorflow]'."
        ) from None
    started = time.monotonic()
    _progress(f"exporting {', '.join(names)} as {format} through the TensorFlow backend in a "
              "subprocess (about 20-30 s)")
    arguments = {"path": str(target), "format": format, "endpoints": names,
                 "serving_default": serving_default, "overwrite": overwrite}
    with tempfile.TemporaryDirectory() as scratch:
        preset = save_preset(model, Path(scratch) / "preset")
        env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
        result = _run_child([sys.executable, "-c", CHILD, str(os.getpid()), str(preset),
                             json.dumps(arguments)], env)
    if result.returncode != 0:
        raise RuntimeError(
            "exporting through the TensorFlow backend failed; nothing was written to "
            f"{target}.\n{result.stderr[-3000:]}"
        )
    _progress(f"done in {time.monotonic() - started:.0f} s")
