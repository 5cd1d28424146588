"""Run every benchmark and write benchmarks/RESULTS.md (see benchmarks/README.md).

    python benchmarks/run.py            # the full run (~40 min on a quiet 2-core machine)
    python benchmarks/run.py --quick    # tiny settings, a few minutes: checks it all works

Each measurement runs in a fresh subprocess (the Keras backend is fixed at import, and import
times and peak memory need a new process); inside one, the cases compared are interleaved and
repeated, and the report gives medians with quartiles and ranges. Timings are never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks import common, report, timing  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT_PYTHAE_PYTHON = "/tmp/pythae-venv/bin/python"

SETTINGS = {
    "quick": dict(train_repeats=3, train_target=1.0, train_warm=2, infer_repeats=3,
                  infer_target=0.2, startup_repeats=1, matmul_sizes="2048", matmul_repeats=3,
                  memmap_sizes=[10**4, 10**5], dsprites_sizes=[10**4, 10**5], speed_repeats=2,
                  speed_target=1.0, speed_warm=2, recipes_repeats=2, recipes_target=0.5,
                  modes_rounds=1, modes_epochs=2, modes_steps=8),
    "full": dict(train_repeats=5, train_target=6.0, train_warm=3, infer_repeats=7,
                 infer_target=0.5, startup_repeats=5, matmul_sizes="2048,4096",
                 matmul_repeats=7, memmap_sizes=[10**5, 10**6, 10**7],
                 dsprites_sizes=[10**5, 10**6], speed_repeats=3, speed_target=5.0,
                 speed_warm=4, recipes_repeats=3, recipes_target=3.0, modes_rounds=3,
                 modes_epochs=5, modes_steps=48),
}


class Runner:
    """Starts workers (`python -m benchmarks.<module>`), keeps their logs, returns their JSON
    result, or the error text when one fails (the report shows it; the run goes on)."""

    def __init__(self, workdir: Path, threads: int | None):
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
                    **common.thread_env(threads)}
        self.count = 0

    def __call__(self, module: str, *args: str, backend: str | None = None,
                 python: str = sys.executable, timeout: float = 3600) -> dict | str:
        self.count += 1
        name = f"{self.count:02d}-{module}-{backend or 'any'}"
        env = dict(self.env)
        if backend:
            env["KERAS_BACKEND"] = backend
        command = [python, "-m", f"benchmarks.{module}", *args]
        print(f"[{time.strftime('%H:%M:%S')}] {name}: {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        try:
            proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired as error:
            return f"timed out after {error.timeout:.0f} s"
        (self.logs / f"{name}.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
        print(f"    done in {time.perf_counter() - start:.0f} s (rc {proc.returncode})",
              flush=True)
        if proc.returncode != 0:
            return f"exit status {proc.returncode}\n{proc.stderr[-3000:]}"
        try:
            return timing.parse(proc.stdout)
        except (RuntimeError, ValueError) as error:
            return f"{error}\n{proc.stderr[-3000:]}"


def machine_info() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = int(line.split()[1]) / 2**20
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": ram,
            "platform": platform.platform(), "load": os.getloadavg()}


def versions(pythae_python: str | None) -> dict:
    out = {"python": platform.python_version()}
    for dist in ("keras", "tensorflow-cpu", "jax", "jaxlib", "torch", "onnxruntime", "numpy",
                 "tf2onnx", "onnx"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    out["kerasae"] = version("kerasae") if _installed("kerasae") else "not installed"
    out["kerasae git commit"] = git_commit()
    if pythae_python:
        proc = subprocess.run([pythae_python, "-c", "from importlib.metadata import version; "
                               "print(version('pythae'), version('torch'))"],
                              capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            pythae, torch = proc.stdout.split()
            out["pythae (its own venv)"] = f"{pythae} (with torch {torch})"
    return out


def _installed(dist: str) -> bool:
    try:
        version(dist)
        return True
    except PackageNotFoundError:
        return False


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" + uncommitted changes to tracked files" if dirty.strip() else "")


def find_pythae(explicit: str | None) -> tuple[str | None, str]:
    """(python of a venv with pythae, or None; a note saying which or why not)."""
    candidate = explicit or os.environ.get("KERASAE_BENCH_PYTHAE_PYTHON") or (
        DEFAULT_PYTHAE_PYTHON if Path(DEFAULT_PYTHAE_PYTHON).exists() else None)
    if candidate is None:
        return None, ("skipped: no venv with pythae found (--pythae-python, "
                      "$KERASAE_BENCH_PYTHAE_PYTHON or /tmp/pythae-venv); set one up as in "
                      "benchmarks/README.md")
    proc = subprocess.run([candidate, "-c", "import pythae, torch"], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        return None, f"skipped: `import pythae` fails in {candidate}: {proc.stderr[-500:]}"
    return candidate, f"run in its own venv, {candidate}"


def run_all(args, settings: dict, workdir: Path) -> dict:
    run = Runner(workdir, args.threads)
    backends = args.backends.split(",")
    pythae_python, pythae_note = find_pythae(args.pythae_python)
    res: dict = {"machine": machine_info(), "versions": versions(pythae_python),
                 "pythae_note": pythae_note, "settings": settings}
    sections = set(args.sections.split(","))
    s = settings
    if "startup" in sections:
        res["startup"] = run("startup", "--backends", ",".join(backends),
                             "--repeats", str(s["startup_repeats"]))
    nets = args.nets.split(",")
    if "training" in sections:
        common_args = ["--repeats", str(s["train_repeats"]), "--target-s", str(s["train_target"]),
                       "--warm-steps", str(s["train_warm"])]
        res["training"] = {net: {b: run("training", *common_args, "--net", net, backend=b)
                                 for b in backends} for net in nets}
        res["pythae"] = {net: (run("pythae_bench", *common_args, "--net", net,
                                   python=pythae_python) if pythae_python else None)
                         for net in nets}
    if "inference" in sections:
        exported = workdir / "export"
        res["export"] = run("inference", "export", "--dir", str(exported), "--preset",
                            args.preset, backend="tensorflow")
        res["inference"] = {
            b: run("inference", "measure", "--dir", str(exported), "--preset", args.preset,
                   "--repeats", str(s["infer_repeats"]), "--target-s", str(s["infer_target"]),
                   backend=b)
            for b in backends
        } if isinstance(res["export"], dict) else {}
    if "flops" in sections:
        res["flops"] = run("flops", "--sizes", s["matmul_sizes"], "--repeats",
                           str(s["matmul_repeats"]), backend="tensorflow")
    if "scale" in sections:
        res["scale"], res["scale_notes"] = run_scale(run, workdir, s, args)
    if "speed" in sections:
        res["speed"] = {b: run("speed", "--repeats", str(s["speed_repeats"]), "--target-s",
                               str(s["speed_target"]), "--warm-steps", str(s["speed_warm"]),
                               backend=b) for b in backends}
    if "recipes" in sections:
        res["recipes"] = run("recipes_bench", "--repeats", str(s["recipes_repeats"]),
                             "--target-s", str(s["recipes_target"]),
                             backend=args.recipes_backend)
    if "tfmodes" in sections:
        res["tfmodes"] = {net: run("tf_modes", "run", "--net", net, "--configs",
                                   args.modes_configs, "--rounds", str(s["modes_rounds"]),
                                   "--epochs", str(s["modes_epochs"]), "--steps",
                                   str(s["modes_steps"])) for net in nets}
    res["machine"]["load_at_end"] = os.getloadavg()
    return res


def run_scale(run: Runner, workdir: Path, s: dict, args) -> tuple[list[dict], list[str]]:
    from benchmarks.scale import DIM

    rows, notes = [], []
    sizes = list(s["memmap_sizes"])
    largest = max(sizes)
    need = largest * DIM * 4
    free = shutil.disk_usage(workdir).free
    if need * 1.2 + 2**30 > free:
        fitting = [n for n in sizes if n * DIM * 4 * 1.2 + 2**30 <= free]
        notes.append(f"file-backed sizes {sorted(set(sizes) - set(fitting))} skipped: "
                     f"{need / 2**30:.1f} GiB needed, {free / 2**30:.1f} GiB free in {workdir}")
        sizes, largest = fitting, max(fitting, default=0)
    path = workdir / "scale.f32"
    if sizes:
        written = run("scale", "write", "--path", str(path), "--n", str(largest))
        if isinstance(written, str):
            rows.append({"source": "file (np.memmap)", "n": largest, "error": written})
            sizes = []
        else:
            notes.append(f"file: {largest:,} x {DIM} float32 = {written['bytes'] / 2**30:.2f} "
                         f"GiB written in chunks in {written['seconds']:.1f} s (free disk "
                         f"before: {free / 2**30:.0f} GiB); smaller sizes read its first rows")
    for n in sizes:
        r = run("scale", "memmap", "--path", str(path), "--n", str(n), backend=args.scale_backend)
        rows.append({"source": "file (np.memmap) -> PyDataset", "n": n,
                     **(r if isinstance(r, dict) else {"error": r})})
    path.unlink(missing_ok=True)
    for n in s["dsprites_sizes"]:
        r = run("scale", "dsprites", "--n", str(n), backend=args.scale_backend)
        rows.append({"source": "DSprites().batches (generated)", "n": n,
                     **(r if isinstance(r, dict) else {"error": r})})
    return rows, notes


def write_report(res: dict, out: Path, mode: str, elapsed: float, args) -> None:
    m, v = res["machine"], res["versions"]
    lines = [
        "# kerasae benchmarks\n",
        f"Written by `python benchmarks/run.py{' --quick' if mode == 'quick' else ''}` on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC in {elapsed / 60:.1f} min "
        f"({mode} settings{'; tiny: a smoke test, not numbers to quote' if mode == 'quick' else ''}"
        "). Medians over interleaved repeats; IQR = quartiles; min - max over repeats. "
        "Ratios are medians of per-round ratios (cases measured back to back).\n",
        "## Machine\n",
        report.table(["", ""], [
            ["CPU", m["cpu"]], ["cores", m["cores"]],
            ["RAM", f"{m['ram_gib']:.1f} GiB" if m["ram_gib"] else "unknown"],
            ["platform", m["platform"]],
            ["load average (1, 5, 15 min) at start", ", ".join(f"{x:.2f}" for x in m["load"])],
            ["load average at end", ", ".join(f"{x:.2f}" for x in m["load_at_end"])],
            ["threads", f"pinned to {args.threads} per framework (--threads)" if args.threads
             else "each framework's default"],
        ]),
        "## Versions\n",
        report.table(["package", "version"], [[k, x] for k, x in v.items()]),
    ]
    if "training" in res:
        lines += [
            "## 1. Training throughput: the canonical conv VAE and the 64x64 preset net\n",
            "`kerasae.build(\"vae\", input_shape=(28, 28, 1), latent_dim=16, "
            "architecture=\"conv\", filters=(32, 64))`: Conv2D 32 and 64 "
            "(3x3, stride 2, same, relu) -> Flatten -> Dense 16 mean and 16 log-variance "
            "(bounded 10 tanh(./10)) -> reparameterised z -> Dense 3136 relu -> 7x7x64 -> "
            "Conv2DTranspose 64 and 32 (3x3, stride 2, same, relu) -> Conv2D 1 (3x3) Bernoulli "
            "logits; loss = summed Bernoulli NLL + KL, Adam(1e-3). The hand-written TF loop (raw "
            "tf.Variables, tf.nn ops, "
            "GradientTape in tf.function, Adam by hand) and torch loop (torch.nn, NCHW, "
            "torch.optim.Adam) build the same layers with the same parameter count. Data: the "
            "shipped MNIST sample, tiled, in memory. Each case runs untimed first (warm-up "
            "epoch, tracing), then its steps per repeat are calibrated so a repeat lasts "
            f"about {res['settings']['train_target']} s.\n",
            "The 64x64 net is that of the dSprites presets (`kerasae.build(\"beta_vae\", "
            "input_shape=(64, 64, 1), latent_dim=10, beta=16.0, architecture=\"conv\", "
            "filters=(32, 32, 64, 64), likelihood=\"bernoulli\")`, 198,613 parameters; the "
            "CelebA preset has the same layers on 3 channels) at the recipes' batch 64, on "
            "synthetic binary 64x64 images; the hand-written loops and pythae build the same "
            "layers (their loss has no beta: one multiply).\n",
        ]
        for net, results in res["training"].items():
            lines += [f"### {'28x28 canonical conv VAE' if net == '28' else '64x64 net'}\n",
                      report.training_section(results, (res.get("pythae") or {}).get(net),
                                              res["pythae_note"])]
    if "inference" in res or "export" in res:
        lines += [
            f"## 2. Inference throughput: preset `{args.preset}`, endpoint `reconstruct`\n",
            "Paths: `model.reconstruct(x)` (the numpy helper: input check, then "
            "`predict_on_batch` per batch-size slice), the endpoint Functional model's "
            "`predict` (what the helper called before: a data adapter, iterator and callbacks "
            "per call), `predict_on_batch` and a direct eager call, the TF SavedModel "
            "from `kerasae.export(format=\"tf_saved_model\")` called through "
            "`tf.saved_model.load(path).reconstruct`, and "
            "`reconstruct.onnx` from `kerasae.export(format=\"onnx\")` in an onnxruntime "
            "InferenceSession (CPU). The artefacts are exported once on TensorFlow and served "
            "in every backend's process. Examples/s; ms/call = batch / median rate.\n",
            report.inference_section(res.get("inference", {}), res.get("export", "not run")),
        ]
    if "startup" in res:
        lines += ["## 3. Start-up: import and preset load times\n",
                  "Fresh interpreter per measurement, timed inside it (interpreter start-up "
                  "excluded except in the last column); median (min - max) seconds.\n",
                  report.startup_section(res["startup"])]
    if "flops" in res:
        lines += ["## 4. Achieved FLOP/s during training, as a fraction of the matmul peak\n",
                  report.flops_section(res["flops"], res.get("training", {}).get("28", {}))]
    if "scale" in res:
        lines += [
            "## 5. Scale: streaming data that does not fit in memory\n",
            f"One epoch of a small dense AE (`kerasae.build(\"ae\")`, dense, hidden 32 for the "
            "64-float file examples, hidden 64 for 64x64 dSprites images), batch 1024, "
            f"`keras.utils.PyDataset` with 2 worker threads and a queue of 8 batches, one "
            f"fresh process per size (KERAS_BACKEND={args.scale_backend}). Steady time per "
            "example excludes the first steps (tracing); peak RSS is getrusage maxrss. Flat "
            "peak RSS and constant us/example across sizes mean memory O(batch) and time "
            "O(examples).\n",
            report.scale_section(res["scale"], res["scale_notes"] + [
                "dSprites is generated on the fly (737,280 distinct images; larger sizes loop "
                "over epochs); 10^7 is left out (it takes ~10x the 10^6 time) unless asked for "
                "with --dsprites-1e7" if mode == "full" else
                "--quick: sizes 10^4 and 10^5 only"]),
        ]
    if "speed" in res:
        lines += [
            "## 6. Where `fit` loses time: one change at a time\n",
            "Same conv VAE, batch 128, variants interleaved in one process per backend "
            "(kerasae is not modified: subclasses, compile options, a rebuilt decoder). "
            "`default` is kerasae's compile (steps_per_execution 8 on TensorFlow); "
            "`steps_per_execution=1` is Keras' default; `plain Keras model, same layers` is the "
            "network in stock Keras layers with a five-line compute_loss (Keras' own cost). "
            "`no term trackers` drops the three per-term `Mean` trackers' update_state from "
            "`compute_loss`; `lean compute_loss` also drops the `training_step` counter assign "
            "(unused without KL warm-up/capacity); `zero-insertion deconv` replaces each "
            "Conv2DTranspose by zeros inserted between pixels + a stride-1 Conv2D with the "
            "flipped kernel (same weights, same outputs); `adjoint-gradient deconv` (JAX) keeps "
            "Conv2DTranspose's forward but gives it a `jax.custom_vjp` whose kernel gradient is "
            "computed as the kernel gradient of the strided Conv2D it is the adjoint of (XLA:CPU "
            "otherwise lowers it to a slow window-dilated convolution); outputs and gradients "
            "are checked against Keras' Conv2DTranspose. The hand-written loop is the floor.\n",
            report.speed_section(res["speed"]),
        ]
    if "tfmodes" in res:
        lines += [
            "## 8. TensorFlow's slow mode and kerasae's defaults: every epoch, configurations in "
            "separate processes\n",
            "`python -m benchmarks.tf_modes` (see its docstring): each configuration runs in a "
            "fresh process (thread pools are fixed at start-up), processes interleaved in time. "
            "Per epoch: samples/s, the process's cores used and CPU-ms per step (os.times), the "
            "share of the process's CPU time done by its busiest thread (/proc/self/task: ~0.5 "
            "when TensorFlow's two intra-op threads share the work, near 1 when it runs "
            "serially, the slow mode), and the cores the rest of the machine used meanwhile "
            "(/proc/stat): load that explains slow epochs.\n",
            *[report.tf_modes_section(r) for r in res["tfmodes"].values()],
        ]
    if "recipes" in res:
        lines += [
            "## 9. Training recipes: samples/s and projected wall time\n",
            "`python -m benchmarks.recipes_bench`: for each preset recipe trained with `fit`, "
            "its model, batch size and learning rate, timed in short `fit` calls on synthetic "
            "data of the right shape (interleaved repeats). **Projected** wall time = epochs x "
            "training examples per epoch / median samples/s; validation, evaluation, "
            "checkpoints and the real data pipeline (dSprites is rendered on the fly) are not "
            "in it.\n",
            report.recipes_section(res["recipes"]),
        ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny settings (a few minutes)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--sections",
                        default="startup,training,inference,flops,scale,speed,tfmodes,recipes")
    parser.add_argument("--nets", default="28,64",
                        help="section 1 and 8 nets: 28 (canonical VAE), 64 (dSprites presets)")
    parser.add_argument("--recipes-backend", default="tensorflow")
    parser.add_argument("--modes-configs", default="default,keras pipeline,spe1,keras fit,tfloop",
                        help="benchmarks.tf_modes configurations for section 8")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one setting (e.g. train_target=3), repeatable")
    parser.add_argument("--threads", type=int, default=None,
                        help="pin every framework's intra-op threads (default: theirs); use 1 "
                        "on a loaded machine, where OpenMP (torch) collapses when oversubscribed")
    parser.add_argument("--pythae-python", default=None,
                        help=f"python of a venv with pythae (default {DEFAULT_PYTHAE_PYTHON})")
    parser.add_argument("--preset", default="vae_mnist")
    parser.add_argument("--scale-backend", default="tensorflow")
    parser.add_argument("--dsprites-1e7", action="store_true",
                        help="also stream 10^7 dSprites images (full mode; slow)")
    parser.add_argument("--tmpdir", default=None, help="where the scratch folder goes")
    parser.add_argument("--keep-tmp", action="store_true", help="keep logs and artefacts")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    settings = dict(SETTINGS[mode])
    for item in args.set:
        key, _, value = item.partition("=")
        if key not in settings:
            parser.error(f"--set {item}: no setting {key!r}; settings: {sorted(settings)}")
        settings[key] = type(settings[key])(value) if not isinstance(settings[key], list) \
            else [int(v) for v in value.split(",")]
    if args.dsprites_1e7 and mode == "full":
        settings["dsprites_sizes"] = [*settings["dsprites_sizes"], 10**7]
    workdir = Path(tempfile.mkdtemp(prefix="kerasae-bench-", dir=args.tmpdir))
    print(f"scratch and logs: {workdir}", flush=True)
    start = time.perf_counter()
    try:
        res = run_all(args, settings, workdir)
        write_report(res, args.out, mode, time.perf_counter() - start, args)
    finally:
        if args.keep_tmp:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"wrote {args.out} in {(time.perf_counter() - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
