"""The `kerasae` command: list and inspect presets, export, publish, reconstruct, score
anomalies, generate, traverse, retrieve, demo.

Pick the backend with KERAS_BACKEND (tensorflow, jax or torch) as for any Keras program.

Every failure exits with status 2 and one line on stderr (`main` is the one place errors are
turned into that line); nothing is written before the inputs are read and checked. `--help`,
`list` and `info` read JSON only and never import Keras or a backend, so they answer at once;
the other commands import the backend inside the command, with its C++ log lines silenced.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import cast

import numpy as np

import kerasae
from kerasae._atomic import atomic_file
from kerasae._checks import closest
from kerasae.hub._meta import preset_names, read_metadata
from kerasae.hub.registry import bundled_root, resolve
from kerasae.protocols import Posterior

# The modules above import neither Keras nor a backend. Those that do (kerasae.apps,
# kerasae.data.images, kerasae.finetune: Keras, TensorFlow, SciPy, seconds of imports) are
# imported inside the commands that use them, once _backend() has silenced the native log
# lines, so that `--help`, `list` and `info` answer at once.

# Refused before anything is allocated: more draws than a picture or a .npy wants.
MAX_SAMPLES = 100_000
MAX_OUTPUT_BYTES = 2 << 30  # 2 GiB of float32 samples
MAX_SPAN = 1e6


class CommandError(ValueError):
    """A failure the user can fix: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and still exit status 2)."""

    def error(self, message: str):  # noqa: D102
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int_option(minimum: int | None = None, maximum: int | None = None):
    """An argparse type: an integer within [minimum, maximum] (argparse names the option)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            low = "" if minimum is None else f">= {minimum}"
            high = "" if maximum is None else f"<= {maximum}"
            raise argparse.ArgumentTypeError(
                f"expected an integer {' and '.join(filter(None, (low, high)))}; got {value}")
        return value
    return parse


def _float_option(low: float, high: float, *, open_low: bool = False):
    """An argparse type: a finite float in [low, high] ((low, high] when open_low)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
        if not (low < value if open_low else low <= value) or not value <= high:
            bracket = "(" if open_low else "["
            raise argparse.ArgumentTypeError(
                f"expected a finite number in {bracket}{low}, {high}]; got {text!r}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kerasae",
        description="A Keras 3 model zoo of autoencoders with pretrained presets. The backend "
        "is chosen by KERAS_BACKEND (tensorflow, jax or torch).",
        epilog="Handles are a bundled preset name (see `kerasae list`), a preset folder, or "
        "hf://org/repo[@revision] on the Hugging Face Hub.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)
    commands.add_parser("variants", help="list the architectures kerasae.build knows")
    commands.add_parser("list", help="list the bundled pretrained presets")
    info = commands.add_parser("info", help="show a preset's metadata (metrics, input, files)")
    info.add_argument("handle", help="preset name, folder or hf://org/repo")

    export = commands.add_parser(
        "export", help="export a preset for serving (TF SavedModel or ONNX)",
        description="Write the preset's deterministic endpoints (encode, decode, reconstruct, "
        "reconstruction_error) as a TF SavedModel with named signatures or as one ONNX file "
        "per endpoint. The result loads without kerasae.",
    )
    export.add_argument("handle", help="preset name, folder or hf://org/repo")
    export.add_argument("path", help="output folder")
    export.add_argument("--format", choices=("tf_saved_model", "onnx"), default="tf_saved_model")
    export.add_argument("--version", type=int, default=None,
                        help="write PATH/VERSION/, the numbered folder TF Serving watches")
    export.add_argument("--overwrite", action="store_true",
                        help="replace PATH even if it holds files kerasae did not write")

    push = commands.add_parser(
        "push", help="upload a preset folder to the Hugging Face Hub",
        description="Upload a preset folder to hf://org/repo[@branch]. The token is taken "
        "from HF_TOKEN or your `hf auth login`; it is never passed on the command line.",
    )
    push.add_argument("folder", help="preset folder (written by kerasae.save_preset)")
    push.add_argument("repo", help="hf://org/repo or hf://org/repo@branch")
    push.add_argument("--private", action="store_true", help="create the repository private")
    push.add_argument("--message", help="commit message")

    recon = commands.add_parser(
        "reconstruct", help="reconstruct inputs from .npy/.npz, image files or image folders",
        description="Reconstruct a numpy array (.npy, or the first array of a .npz) of shape "
        "(N, *input_shape), or image files and folders of images of any size: the preset's "
        "own preprocessing (centre crop to its aspect ratio or its recorded crop, resize, "
        "channels, pixels / 255) is applied and reported on stderr. Writes "
        "reconstructions.npy, errors.json (one reconstruction error per input) and, for images, "
        "reconstructions.png into --out.",
    )
    recon.add_argument("handle", help="preset name, folder or hf://org/repo")
    recon.add_argument("inputs", nargs="+",
                       help="one .npy/.npz file, or image files and folders of images")
    recon.add_argument("--out", default="outputs/reconstruct", help="output folder")

    anomaly = commands.add_parser(
        "anomaly", help="fit an anomaly threshold on normal data and score other data",
        description="Fit kerasae.apps.AnomalyDetector on NORMAL (.npy/.npz or images), score "
        "INPUTS, and write scores.npy, flags.npy and report.json into --out. With --labels (a "
        ".npy of 0/1 per input) the report adds AUROC, precision and recall.",
    )
    anomaly.add_argument("handle", help="preset name, folder or hf://org/repo")
    anomaly.add_argument("normal", help="normal data: one .npy/.npz file")
    anomaly.add_argument("inputs", nargs="+", help="data to score: one .npy/.npz or images")
    anomaly.add_argument("--contamination", default=0.01,
                         type=_float_option(0.0, 0.5, open_low=True),
                         help="fraction of the normal data flagged (default 0.01)")
    anomaly.add_argument("--method", choices=("contamination", "normalized"),
                         default="contamination")
    anomaly.add_argument("--labels", help=".npy of 0 (normal) / 1 (anomaly) per input")
    anomaly.add_argument("--out", default="outputs/anomaly", help="output folder")

    generate = commands.add_parser(
        "generate", help="sample a preset: a VAE's prior or its fitted gmm sampler",
        description="Write samples.npy and, for images, samples.png into --out.")
    generate.add_argument("handle", help="preset name, folder or hf://org/repo")
    generate.add_argument("-n", type=_int_option(1, MAX_SAMPLES), default=16,
                          help=f"number of samples (1..{MAX_SAMPLES})")
    generate.add_argument("--seed", type=_int_option(0, 2**32 - 1), default=0)
    generate.add_argument("--condition", type=_int_option(0),
                          help="class label for a cvae")
    generate.add_argument("--sampler", choices=("prior", "gmm"), default="prior",
                          help="prior: z ~ N(0, I) (VAEs); gmm: the mixture fitted on the "
                          "training codes, shipped in the preset (any autoencoder that has one)")
    generate.add_argument("--out", default="outputs/generate", help="output folder")

    traverse = commands.add_parser(
        "traverse", help="latent traversal of one input: each row sweeps one code dimension",
        description="Encode input number --index of INPUTS, replace one code dimension at a "
        "time by --span values in [-span, span] and decode. Writes traversal.npy (dims, "
        "values, *input_shape) and, for images, traversal.png.")
    traverse.add_argument("handle", help="preset name, folder or hf://org/repo")
    traverse.add_argument("inputs", nargs="+", help="one .npy/.npz file or image files")
    traverse.add_argument("--index", type=_int_option(0), default=0,
                          help="which input to traverse")
    traverse.add_argument("--dims", type=_int_option(0), nargs="+",
                          help="code dimensions (default: all; for VAEs the most "
                          "informative first, at most 10)")
    traverse.add_argument("--span", type=_float_option(0.0, MAX_SPAN, open_low=True),
                          default=3.0)
    traverse.add_argument("--out", default="outputs/traverse", help="output folder")

    retrieve = commands.add_parser(
        "retrieve", help="find each query's nearest neighbours in latent space (cosine)",
        description="Index the encodings of DATABASE, search them with the encodings of "
        "QUERIES and write neighbours.json (indices into DATABASE and cosine similarities, "
        "best first) and the index itself (index.npz) into --out.")
    retrieve.add_argument("handle", help="preset name, folder or hf://org/repo")
    retrieve.add_argument("database", help="one .npy/.npz file")
    retrieve.add_argument("queries", nargs="+", help="one .npy/.npz file or image files")
    retrieve.add_argument("-k", type=_int_option(1, 10_000), default=5,
                          help="neighbours per query")
    retrieve.add_argument("--out", default="outputs/retrieve", help="output folder")

    finetune = commands.add_parser(
        "finetune", help="fine-tune a preset on your images or arrays; save a new preset",
        description="Fine-tune PRESET on DATA (a folder of images, nested folders too; a "
        ".npy/.npz array; or tfds:NAME[:SPLIT]) with the preset's own preprocessing, a "
        "validation split for early stopping (best weights kept) and checkpoints in "
        "OUT.checkpoints/ (rerun the same command to resume). The new preset at OUT records its "
        "lineage, its parent's licence and the preprocessing. The learning rate defaults to the "
        "one recorded for the preset; ten times more is refused without --force.",
    )
    finetune.add_argument("handle", metavar="PRESET", help="preset name, folder or hf://org/repo")
    finetune.add_argument("data", metavar="DATA",
                          help="image folder, .npy/.npz file, or tfds:NAME[:SPLIT]")
    finetune.add_argument("--out", required=True, help="folder of the new preset (must not exist)")
    finetune.add_argument("--epochs", type=int, default=10, help="at most this many (default 10)")
    finetune.add_argument("--learning-rate", type=float,
                          help="Adam learning rate (default: the preset's recorded one, or 1e-4)")
    finetune.add_argument("--validation-split", type=float, default=0.1,
                          help="fraction held out for early stopping (default 0.1; 0: none)")
    finetune.add_argument("--batch-size", type=int, default=32)
    finetune.add_argument("--patience", type=int, default=3,
                          help="epochs without a better validation loss before stopping")
    finetune.add_argument("--seed", type=int, default=0)
    finetune.add_argument("--data-licence", help="the terms of your data, for the model card")
    finetune.add_argument("--force", action="store_true",
                          help="allow a learning rate over 10x the preset's recorded one")

    demo = commands.add_parser(
        "demo",
        help="the README's main job: load bundled presets and write a gallery (reconstruction, "
        "denoising, compression, samples, interpolation, traversal, latent map, retrieval, "
        "anomalies, hidden units, training curves) and a metrics summary; offline, ~1 minute",
    )
    demo.add_argument("--out", default="outputs/demo", help="folder for pictures and metrics")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command: exit status 0, or one line on stderr and exit status 2 (every failure,
    as DESIGN.md's contract says; a bug in kerasae says "internal error" in that line)."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print(f"kerasae {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the one place errors become a message: see _describe
        known, message = _describe(error)
        if not known and os.environ.get("KERASAE_DEBUG"):
            raise
        print(f"kerasae {args.command}: error: {message}", file=sys.stderr)
        return 2


def _describe(error: BaseException) -> tuple[bool, str]:
    """(whether it is a failure the user can act on, one line saying what was wrong).

    Bad values and data (ValueError, IntegrityError), files (OSError: missing, existing,
    unreadable, not an image), corrupt archives and memory are the user's to fix; network
    failures of huggingface_hub (httpx or requests errors) become "cannot reach the Hub".
    Anything else is a bug in kerasae: one line too (still exit status 2), the traceback with
    KERASAE_DEBUG=1.
    """
    names = {(c.__module__.split(".")[0], c.__name__) for c in type(error).__mro__}
    text = " ".join(str(error).split()) or type(error).__name__
    if any(module.startswith(("httpx", "requests", "urllib3")) and name in (
        "TransportError", "ConnectionError", "Timeout", "NewConnectionError"
    ) for module, name in names) or isinstance(error, ConnectionRefusedError):
        return True, f"cannot reach the Hugging Face Hub ({type(error).__name__}: {text})"
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return True, f"{error.strerror}: {error.filename}"
    if isinstance(error, MemoryError):
        return True, "out of memory: use fewer or smaller inputs"
    if isinstance(error, (ValueError, OSError, EOFError, zipfile.BadZipFile)):
        return True, text
    if any(module.startswith(("httpx", "huggingface_hub")) for module, _ in names):
        return True, f"the Hugging Face Hub request failed ({type(error).__name__}: {text})"
    return False, (f"internal error ({type(error).__name__}: {text}); please report it "
                   "(KERASAE_DEBUG=1 shows the traceback)")


@contextlib.contextmanager
def _native_logs_hidden():
    """Hide what native libraries write to file descriptor 2 while they load.

    TensorFlow 2.21's C++ libraries log through absl before any setting is read ("All log
    messages before absl::InitializeLog() ...", the oneDNN notice): TF_CPP_MIN_LOG_LEVEL no
    longer reaches them. Python errors still propagate and are reported after the restore.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded interpreters): nothing to hide
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _backend():
    """Import kerasae's models (and so Keras and its backend) with the C++ and absl log lines
    of TensorFlow silenced; returns the kerasae package."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "kerasae.builders" not in sys.modules:
        with _native_logs_hidden():
            kerasae.build  # noqa: B018  (imports Keras and registers the variants)
    from kerasae.apps.demo import hide_retracing_notices

    hide_retracing_notices()
    return kerasae


def _load(handle: str):
    """A preset for inference, with a progress line (the first load imports the backend)."""
    _say(f"loading {handle}")
    kerasae = _backend()
    with _native_logs_hidden():  # TensorFlow loads more native code on the first model
        return kerasae.load(handle, compile=False)


def cmd_variants(args) -> int:
    print("\n".join(_backend().variants()))
    return 0


def _bundled_names() -> list[str]:
    return preset_names(bundled_root())


def _read_metadata(handle: str) -> dict:
    """metadata.json of a bundled preset or a preset folder, read by kerasae.hub._meta without
    Keras; hf:// handles go through kerasae.hub (which downloads or finds them in the cache)."""
    if handle.startswith("hf://"):
        return read_metadata(resolve(handle))
    folder = Path(handle).expanduser()
    if not folder.is_dir():
        names = _bundled_names()
        if handle not in names:
            raise CommandError(
                f"unknown preset {handle!r}.{closest(handle, names)} Bundled presets: "
                f"{names or 'none'}. A local preset folder or 'hf://org/repo[@revision]' also "
                "works.")
        folder = cast(Path, bundled_root()) / handle  # names is empty when it is None
    return read_metadata(folder)


def cmd_list(args) -> int:
    names = _bundled_names()
    if not names:
        print("no bundled presets")
    for name in names:
        meta = _read_metadata(name)
        metrics = ", ".join(
            f"{k}={v['value']}" for k, v in sorted(meta.get("metrics", {}).items())
            if isinstance(v, dict) and "value" in v
        )
        print(f"{name:28s} {str(meta.get('variant', '')):15s} {metrics}")
    return 0


def cmd_info(args) -> int:
    print(json.dumps(_read_metadata(args.handle), indent=2, sort_keys=True))
    return 0


def cmd_export(args) -> int:
    kerasae = _backend()
    model = _load(args.handle)
    _say(f"exporting as {args.format} to {args.path}")
    path = kerasae.export(model, args.path, format=args.format, version=args.version,
                          overwrite=args.overwrite)
    print(f"exported {args.handle} as {args.format} to {path}")
    return 0


def cmd_push(args) -> int:
    if not Path(args.folder).is_dir():
        raise CommandError(f"no preset folder at {args.folder}: push takes a folder written "
                           "by kerasae.save_preset.")
    _say(f"uploading {args.folder} to {args.repo}")
    info = _backend().push(args.folder, args.repo, private=args.private,
                        commit_message=args.message)
    print(f"pushed {args.folder} to {args.repo}: {getattr(info, 'commit_url', info)}")
    return 0


def cmd_reconstruct(args) -> int:
    out = _out_folder(args.out)
    _check_files(args.inputs, "input", folders=True)
    model = _load(args.handle)
    from kerasae.apps.pictures import image_rows

    x, from_images = read_inputs(args.inputs, model)
    _say(f"reconstructing {len(x)} inputs")
    recon = model.reconstruct(x)
    errors = model.reconstruction_error(x)
    _make(out)
    _save_npy(out / "reconstructions.npy", recon)
    _save_json(out / "errors.json", [float(e) for e in errors])
    if from_images or len(model.data_shape) == 3:
        image_rows([x[:16], recon[:16]], out / "reconstructions.png",
                   titles=["inputs", f"{args.handle} reconstructions"])
    summary = {"inputs": len(x), "mean_error": float(errors.mean()), "out": str(out)}
    print(json.dumps(summary, indent=2))
    return 0


def read_inputs(paths: list[str], model):
    """(array (N, *input_shape) float32, whether it came from images). Images (files or
    folders, any size) get the preset's own preprocessing, which is reported on stderr.
    `model`: a loaded preset, or just its input shape."""

    files = _check_files(paths, "input", folders=True)
    if len(files) == 1 and files[0].suffix in (".npy", ".npz") and files[0].is_file():
        return _load_array(files[0], "input"), False
    from kerasae.data.images import ImagePreprocessing, load_images

    shape = model if isinstance(model, tuple) else model.data_shape
    meta = getattr(model, "preset_metadata", None) or {"input_spec": {"shape": list(shape)}}
    spec = ImagePreprocessing.from_metadata(meta)  # says so when the preset takes no images
    x, sizes = load_images(files, spec)
    seen = sorted({f"{w}x{h}" for w, h in sizes})
    _say(f"read {len(x)} images (width x height: {', '.join(seen[:5])}"
         f"{', ...' if len(seen) > 5 else ''}); applied the preset's preprocessing: "
         f"{spec.describe()}")
    return x, True


def _say(line: str) -> None:
    """Progress of long work, on stderr so stdout stays the result."""
    print(line, file=sys.stderr, flush=True)


def _is_image_model(model) -> bool:
    return len(model.data_shape) == 3


def _check_files(paths: list[str], what: str, folders: bool = False) -> list[Path]:
    """Each path an existing, readable file, or a folder of images when `folders` (checked
    before any model is loaded)."""
    files = [Path(p) for p in paths]
    for file in files:
        if not file.exists():
            raise CommandError(f"{what} file {file} does not exist.")
        if folders and file.is_dir():
            continue
        if not file.is_file():
            raise CommandError(f"{what} {file} is a folder, not a file.")
        if not os.access(file, os.R_OK):
            raise CommandError(f"{what} file {file} cannot be read (permission denied).")
    return files


def _load_array(path: str | Path, what: str):
    """The array of a .npy file, or the only (or first) array of a .npz file, as float32;
    never unpickles."""
    path = _check_files([str(path)], what)[0]
    if path.suffix not in (".npy", ".npz"):
        raise CommandError(f"{what} {path} must be a numpy .npy or .npz file.")
    try:
        with open(path, "rb") as stream:
            data = np.load(stream, allow_pickle=False)
            if isinstance(data, np.lib.npyio.NpzFile):
                with data:
                    if not data.files:
                        raise CommandError(f"{what} {path} is an .npz file with no arrays.")
                    data = data[data.files[0]]
            array = np.asarray(data)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        if isinstance(error, CommandError):
            raise
        reason = ("it holds Python objects, which would need unpickling"
                  if "pickle" in str(error) else " ".join(str(error).split()))
        raise CommandError(f"{what} {path} is not a readable numpy array file ({reason}).") \
            from None
    if array.dtype.kind not in "biuf":
        raise CommandError(f"{what} {path} must hold numbers; got an array of {array.dtype}.")
    return array.astype("float32")


def _out_folder(text: str) -> Path:
    """--out checked (not created): a folder, or a path that can be made in a writable one."""
    out = Path(text).expanduser()
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} exists and is not a folder.")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise CommandError(f"--out {out} cannot be created: {parent} is not a folder.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CommandError(f"--out {out} cannot be written: no permission to write in "
                           f"{parent}.")
    return out


def _make(out: Path) -> Path:
    """Create --out, once the results exist."""
    out.mkdir(parents=True, exist_ok=True)
    return out


def _save_npy(path: Path, array: np.ndarray) -> None:
    """One output array, written atomically (a crash leaves the old file or the new one)."""
    with atomic_file(path) as stream:
        np.save(stream, array)


def _save_json(path: Path, value) -> None:
    """One output JSON file, written atomically."""
    with atomic_file(path) as stream:
        stream.write((json.dumps(value, indent=1) + "\n").encode())


def cmd_anomaly(args) -> int:
    out = _out_folder(args.out)
    _check_files([args.normal, *args.inputs], "input", folders=True)
    labels = None if args.labels is None else _load_array(args.labels, "--labels")
    model = _load(args.handle)
    from kerasae.apps import AnomalyDetector

    normal, _ = read_inputs([args.normal], model)
    x, _ = read_inputs(args.inputs, model)
    if labels is not None and labels.shape != (len(x),):
        raise CommandError(f"--labels {args.labels} must hold one 0/1 label per input, shape "
                           f"({len(x)},); got shape {labels.shape}.")
    _say(f"fitting the threshold on {len(normal)} normal examples")
    detector = AnomalyDetector(model, contamination=args.contamination, method=args.method)
    detector.fit(normal)
    _say(f"scoring {len(x)} inputs")
    scores, flags = detector.score(x), detector.predict(x)
    report = {"inputs": len(x), "threshold": cast(float, detector.threshold_),
              "flagged": int(flags.sum()), "flagged_fraction": float(flags.mean())}
    if labels is not None:
        report.update(detector.report(x, labels.astype("int64")))
    _make(out)
    _save_npy(out / "scores.npy", scores)
    _save_npy(out / "flags.npy", flags)
    _save_json(out / "report.json", report)
    print(json.dumps(report, indent=2))
    return 0


def cmd_generate(args) -> int:
    out = _out_folder(args.out)
    model = _load(args.handle)
    from kerasae.apps import sample, sample_grid

    size = args.n * int(np.prod(model.data_shape)) * 4
    if size > MAX_OUTPUT_BYTES:
        raise CommandError(f"-n {args.n} samples of shape {tuple(model.data_shape)} would take "
                           f"{size / 2**30:.1f} GiB; ask for at most "
                           f"{MAX_OUTPUT_BYTES // (size // args.n)}.")
    _say(f"sampling {args.n} from the {args.sampler} sampler of {args.handle}")
    images = sample(model, args.n, seed=args.seed, condition=args.condition,
                    sampler=args.sampler)
    _make(out)
    _save_npy(out / "samples.npy", images)
    if _is_image_model(model):
        sample_grid(images, out / "samples.png", columns=min(args.n, 8))
    print(json.dumps({"samples": len(images), "shape": list(images.shape[1:]),
                      "out": str(out)}, indent=2))
    return 0


def cmd_traverse(args) -> int:
    out = _out_folder(args.out)
    _check_files(args.inputs, "input", folders=True)
    model = _load(args.handle)
    from kerasae.apps import informative_dims, traversal_grid, traverse

    x, _ = read_inputs(args.inputs, model)
    if not 0 <= args.index < len(x):
        raise ValueError(f"--index must be in 0..{len(x) - 1} for {len(x)} inputs; "
                         f"got {args.index}.")
    example = x[args.index]
    dims = args.dims
    if dims is None and isinstance(model, Posterior):
        dims = [int(d) for d in informative_dims(model, example[None])[:10]]
    grid = traverse(model, example, dims=dims, values=args.span, is_code=False)
    dims = dims if dims is not None else list(range(model.latent_dim))
    _make(out)
    _save_npy(out / "traversal.npy", grid)
    if _is_image_model(model):
        traversal_grid(grid, out / "traversal.png", row_labels=[f"z{d}" for d in dims])
    print(json.dumps({"dims": dims, "values": int(grid.shape[1]), "out": str(out)}, indent=2))
    return 0


def cmd_retrieve(args) -> int:
    out = _out_folder(args.out)
    _check_files([args.database, *args.queries], "input", folders=True)
    model = _load(args.handle)
    from kerasae.apps import LatentIndex

    database, _ = read_inputs([args.database], model)
    queries, _ = read_inputs(args.queries, model)
    _say(f"encoding {len(database)} database entries")
    index = LatentIndex(model)
    index.add(database)
    _say(f"searching {len(queries)} queries")
    ids, similarities = index.search(queries, k=args.k)
    _make(out)
    index.save(out / "index.npz")
    found = [{"query": i, "neighbours": row.tolist(), "cosine": [round(float(s), 6) for s in sim]}
             for i, (row, sim) in enumerate(zip(ids, similarities, strict=True))]
    _save_json(out / "neighbours.json", found)
    print(json.dumps(found[:5], indent=1))
    print(f"neighbours of {len(found)} queries written to {out}/neighbours.json")
    return 0


def cmd_finetune(args) -> int:
    from kerasae.finetune import finetune

    command = " ".join(["kerasae", *sys.argv[1:]]) if sys.argv[1:2] == ["finetune"] else None
    with contextlib.redirect_stdout(sys.stderr):  # Keras' progress bar; stdout is the result
        result = finetune(
            args.handle, args.data, args.out, epochs=args.epochs,
            learning_rate=args.learning_rate, validation_split=args.validation_split,
            batch_size=args.batch_size, patience=args.patience, seed=args.seed,
            force=args.force, data_licence=args.data_licence, log=_say,
            command=command or f"kerasae finetune {args.handle} {args.data} --out {args.out}",
        )
    print(json.dumps(result.report, indent=2))
    return 0


def cmd_demo(args) -> int:
    _out_folder(args.out)
    _backend()
    from kerasae.apps.demo import run_demo

    summary = run_demo(args.out, log=_say)
    print(json.dumps(summary, indent=2))
    print(f"pictures and metrics written to {args.out}/")
    return 0


COMMANDS = {
    "variants": cmd_variants,
    "list": cmd_list,
    "info": cmd_info,
    "export": cmd_export,
    "push": cmd_push,
    "reconstruct": cmd_reconstruct,
    "anomaly": cmd_anomaly,
    "generate": cmd_generate,
    "traverse": cmd_traverse,
    "retrieve": cmd_retrieve,
    "finetune": cmd_finetune,
    "demo": cmd_demo,
}


if __name__ == "__main__":
    sys.exit(main())
