"""Section 3: `import keras`, `import kerasae` and `kerasae.load("vae_mnist")` times, each in a
fresh interpreter per backend (imports are cached per process, so only a new process measures
them). Backends and statements are interleaved round by round; medians over the rounds.

    python -m benchmarks.startup --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import timing

ROOT = Path(__file__).resolve().parents[1]

# Timed inside the child, so interpreter start-up is excluded; the child prints one JSON line.
CHILD = {
    "import keras": (
        "import time, json; t = time.perf_counter(); import keras; "
        "print(json.dumps({'import': time.perf_counter() - t}))"
    ),
    "import kerasae + load": (
        "import time, json; t = time.perf_counter(); import kerasae; "
        "t1 = time.perf_counter(); kerasae.load('vae_mnist'); t2 = time.perf_counter(); "
        "kerasae.load('vae_mnist'); t3 = time.perf_counter(); "
        "print(json.dumps({'import': t1 - t, 'load': t2 - t1, 'load_again': t3 - t2}))"
    ),
}


def run_child(backend: str, code: str, env: dict | None = None) -> dict:
    """Run `code` in a fresh interpreter on `backend`; its JSON line plus the process's wall
    time (interpreter start-up included)."""
    env = {**os.environ, **(env or {}), "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{backend}: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall"] = wall
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    backends = args.backends.split(",")
    runs: dict[str, list[dict]] = {f"{b}|{what}": [] for b in backends for what in CHILD}
    keys = list(runs)
    for r in range(args.repeats):
        shift = r % len(keys)
        for key in keys[shift:] + keys[:shift]:
            backend, what = key.split("|")
            runs[key].append(run_child(backend, CHILD[what]))
    result: dict = {"backends": {}}
    for key, values in runs.items():
        backend, what = key.split("|")
        stats = {field: timing.summarize([v[field] for v in values]).as_dict()
                 for field in values[0]}
        result["backends"].setdefault(backend, {})[what] = stats
    timing.emit(result)
    return result


if __name__ == "__main__":
    main()
