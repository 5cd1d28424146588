"""The `kerasae` command: list and inspect presets, export, publish, reconstruct, score
anomalies, generate, traverse, retrieve, demo.

Pick the backend with KERAS_BACKEND (tensorflow, jax or torch) as for any Keras program.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kerasae",
        description="A Keras 3 model zoo of autoencoders with pretrained presets. The backend "
        "is chosen by KERAS_BACKEND (tensorflow, jax or torch).",
        epilog="Handles are a bundled preset name (see `kerasae list`), a preset folder, or "
        "hf://org/repo[@revision] on the Hugging Face Hub.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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
    anomaly.add_argument("--contamination", type=float, default=0.01,
                         help="fraction of the normal data flagged (default 0.01)")
    anomaly.add_argument("--method", choices=("contamination", "normalized"),
                         default="contamination")
    anomaly.add_argument("--labels", help=".npy of 0 (normal) / 1 (anomaly) per input")
    anomaly.add_argument("--out", default="outputs/anomaly", help="output folder")

    generate = commands.add_parser(
        "generate", help="sample a preset: a VAE's prior or its fitted gmm sampler",
        description="Write samples.npy and, for images, samples.png into --out.")
    generate.add_argument("handle", help="preset name, folder or hf://org/repo")
    generate.add_argument("-n", type=int, default=16, help="number of samples")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--condition", type=int, help="class label for a cvae")
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
    traverse.add_argument("--index", type=int, default=0, help="which input to traverse")
    traverse.add_argument("--dims", type=int, nargs="+",
                          help="code dimensions (default: all; for VAEs the most "
                          "informative first, at most 10)")
    traverse.add_argument("--span", type=float, default=3.0)
    traverse.add_argument("--out", default="outputs/traverse", help="output folder")

    retrieve = commands.add_parser(
        "retrieve", help="find each query's nearest neighbours in latent space (cosine)",
        description="Index the encodings of DATABASE, search them with the encodings of "
        "QUERIES and write neighbours.json (indices into DATABASE and cosine similarities, "
        "best first) and the index itself (index.npz) into --out.")
    retrieve.add_argument("handle", help="preset name, folder or hf://org/repo")
    retrieve.add_argument("database", help="one .npy/.npz file")
    retrieve.add_argument("queries", nargs="+", help="one .npy/.npz file or image files")
    retrieve.add_argument("-k", type=int, default=5, help="neighbours per query")
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
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, ConnectionError, FileNotFoundError, RuntimeError) as error:
        print(f"kerasae {args.command}: error: {error}", file=sys.stderr)
        return 2


def cmd_variants(args) -> int:
    import kerasae

    print("\n".join(kerasae.variants()))
    return 0


def cmd_list(args) -> int:
    import kerasae

    names = kerasae.list_models()
    if not names:
        print("no bundled presets")
    for name in names:
        meta = kerasae.model_info(name)
        metrics = ", ".join(
            f"{k}={v['value']}" for k, v in sorted(meta.get("metrics", {}).items())
            if isinstance(v, dict)
        )
        print(f"{name:28s} {meta.get('variant', ''):15s} {metrics}")
    return 0


def cmd_info(args) -> int:
    from kerasae.hub import read_metadata, resolve

    print(json.dumps(read_metadata(resolve(args.handle)), indent=2, sort_keys=True))
    return 0


def cmd_export(args) -> int:
    import kerasae

    model = kerasae.load(args.handle, compile=False)
    path = kerasae.export(model, args.path, format=args.format, version=args.version,
                          overwrite=args.overwrite)
    print(f"exported {args.handle} as {args.format} to {path}")
    return 0


def cmd_push(args) -> int:
    import kerasae

    info = kerasae.push(args.folder, args.repo, private=args.private,
                        commit_message=args.message)
    print(f"pushed {args.folder} to {args.repo}: {getattr(info, 'commit_url', info)}")
    return 0


def cmd_reconstruct(args) -> int:
    import numpy as np

    import kerasae
    from kerasae.apps.pictures import image_rows

    model = kerasae.load(args.handle, compile=False)
    x, from_images = read_inputs(args.inputs, model)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    recon = model.reconstruct(x)
    errors = model.reconstruction_error(x)
    np.save(out / "reconstructions.npy", recon)
    (out / "errors.json").write_text(json.dumps([float(e) for e in errors], indent=1) + "\n")
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
    import numpy as np

    files = [Path(p) for p in paths]
    for file in files:
        if not file.exists():
            raise FileNotFoundError(f"input {file} does not exist.")
    if len(files) == 1 and files[0].suffix in (".npy", ".npz") and files[0].is_file():
        data = np.load(files[0], allow_pickle=False)
        if files[0].suffix == ".npz":
            data = data[data.files[0]]
        return np.asarray(data, dtype="float32"), False
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


def cmd_anomaly(args) -> int:
    import numpy as np

    import kerasae
    from kerasae.apps import AnomalyDetector

    model = kerasae.load(args.handle, compile=False)
    normal, _ = read_inputs([args.normal], model)
    x, _ = read_inputs(args.inputs, model)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _say(f"fitting the threshold on {len(normal)} normal examples")
    detector = AnomalyDetector(model, contamination=args.contamination, method=args.method)
    detector.fit(normal)
    _say(f"scoring {len(x)} inputs")
    scores, flags = detector.score(x), detector.predict(x)
    np.save(out / "scores.npy", scores)
    np.save(out / "flags.npy", flags)
    report = {"inputs": len(x), "threshold": float(detector.threshold_),
              "flagged": int(flags.sum()), "flagged_fraction": float(flags.mean())}
    if args.labels:
        report.update(detector.report(x, np.load(args.labels)))
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


def cmd_generate(args) -> int:
    import numpy as np

    import kerasae
    from kerasae.apps import sample, sample_grid

    model = kerasae.load(args.handle, compile=False)
    images = sample(model, args.n, seed=args.seed, condition=args.condition,
                    sampler=args.sampler)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "samples.npy", images)
    if _is_image_model(model):
        sample_grid(images, out / "samples.png", columns=min(args.n, 8))
    print(json.dumps({"samples": len(images), "shape": list(images.shape[1:]),
                      "out": str(out)}, indent=2))
    return 0


def cmd_traverse(args) -> int:
    import numpy as np

    import kerasae
    from kerasae.apps import informative_dims, traversal_grid, traverse

    model = kerasae.load(args.handle, compile=False)
    x, _ = read_inputs(args.inputs, model)
    if not 0 <= args.index < len(x):
        raise ValueError(f"--index must be in 0..{len(x) - 1} for {len(x)} inputs; "
                         f"got {args.index}.")
    example = x[args.index]
    dims = args.dims
    if dims is None and hasattr(model, "encode_distribution"):
        dims = [int(d) for d in informative_dims(model, example[None])[:10]]
    grid = traverse(model, example, dims=dims, values=args.span, is_code=False)
    dims = dims if dims is not None else list(range(model.latent_dim))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "traversal.npy", grid)
    if _is_image_model(model):
        traversal_grid(grid, out / "traversal.png", row_labels=[f"z{d}" for d in dims])
    print(json.dumps({"dims": dims, "values": int(grid.shape[1]), "out": str(out)}, indent=2))
    return 0


def cmd_retrieve(args) -> int:
    import kerasae
    from kerasae.apps import LatentIndex

    model = kerasae.load(args.handle, compile=False)
    database, _ = read_inputs([args.database], model)
    queries, _ = read_inputs(args.queries, model)
    _say(f"encoding {len(database)} database entries")
    index = LatentIndex(model)
    index.add(database)
    _say(f"searching {len(queries)} queries")
    ids, similarities = index.search(queries, k=args.k)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    index.save(out / "index.npz")
    found = [{"query": i, "neighbours": row.tolist(), "cosine": [round(float(s), 6) for s in sim]}
             for i, (row, sim) in enumerate(zip(ids, similarities, strict=True))]
    (out / "neighbours.json").write_text(json.dumps(found, indent=1) + "\n")
    print(json.dumps(found[:5], indent=1))
    print(f"neighbours of {len(found)} queries written to {out}/neighbours.json")
    return 0


def cmd_finetune(args) -> int:
    import contextlib

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
