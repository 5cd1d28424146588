"""Helper for test_serialization.py, run as a subprocess under another KERAS_BACKEND (not a test).

    python cross_backend_check.py DIR

DIR holds manifest.json (variant names, tolerance), expected.npz (inputs and the outputs the
saving backend computed) and <variant>.weights.h5. Each variant is rebuilt from its spec in
variant_specs.py, its weights loaded, and its encode/reconstruct outputs compared. The last line
printed is a JSON summary; the exit status is 0 only when every variant matched.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from variant_specs import SPECS  # noqa: E402

import kerasae  # noqa: E402


def check(directory: Path) -> dict:
    manifest = json.loads((directory / "manifest.json").read_text())
    expected = np.load(directory / "expected.npz")
    tolerance = manifest["tolerance"]
    keras.utils.set_random_seed(12345)  # an initialisation unlike the saver's: weights must load
    results = {}
    for name in manifest["variants"]:
        try:
            model = kerasae.build(name, **SPECS[name]["kwargs"])
            model.load_weights(directory / f"{name}.weights.h5")
            x = expected[f"{name}__x"]
            kwargs = {}
            if f"{name}__condition" in expected:
                kwargs["condition"] = expected[f"{name}__condition"]
            diffs = {}
            for method in ("encode", "reconstruct"):
                got = getattr(model, method)(x, **kwargs)
                want = expected[f"{name}__{method}"]
                if got.shape != want.shape:
                    raise ValueError(f"{method}: shape {got.shape}, expected {want.shape}")
                diffs[method] = float(np.max(np.abs(got - want)))
            results[name] = {"max_abs_diff": diffs,
                             "ok": all(d <= tolerance for d in diffs.values())}
        except Exception as error:  # report every variant, not only the first failure
            results[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    return results


def main() -> int:
    results = check(Path(sys.argv[1]))
    ok = all(r["ok"] for r in results.values())
    print(json.dumps({"backend": keras.backend.backend(), "ok": ok, "variants": results}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
