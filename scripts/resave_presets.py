"""Re-save the bundled presets' config.json in the current format, weights and card unchanged.

    KERAS_BACKEND=tensorflow python scripts/resave_presets.py            # every preset in weights/
    KERAS_BACKEND=tensorflow python scripts/resave_presets.py vae_mnist  # or some of them

A preset of the first format stored the whole Keras graph, so a fix to a builder never reached
it. Each preset is loaded (its weights moved into the model today's builder makes), its
config.json rewritten as that model's variant and options, metadata "options" set to the same,
and the file hashes in metadata.json updated. The weights file is kept byte for byte when its
layout is the builder's; otherwise (e.g. the stock Conv2DTranspose layers of the conv presets)
the same values are written in the builder's layout. The card, the sampler and every other
metadata field are kept. Before the new folder replaces the old one (atomically), it is loaded
and must reproduce the old model's reconstruction errors and the preset's recorded sample
check. Rerunnable: a preset already in the current format is left untouched. Afterwards run
`python scripts/publish.py --sync-registry` and commit kerasae/hub/zoo.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from kerasae.data import shipped_sample
from kerasae.hub.integrity import atomic_directory, sha256
from kerasae.hub.preset import (
    CARD,
    CONFIG,
    METADATA,
    OPTIONAL_FILES,
    WEIGHTS,
    config_text,
    is_preset,
    load_preset,
    read_metadata,
)

ROOT = Path(__file__).resolve().parents[1]


def resave(directory: Path, say: Callable[[str], None] = print) -> bool:
    """Re-save one preset folder in the current format; True when anything changed."""
    meta = read_metadata(directory)
    model = load_preset(directory, compile=False)  # checks every file's sha256 first
    config, options = config_text(model), model.options
    with tempfile.TemporaryDirectory() as scratch:
        weights = Path(scratch) / WEIGHTS
        model.save_weights(weights)
        keep_weights = _layout(weights) == _layout(directory / WEIGHTS)
        if (keep_weights and config == (directory / CONFIG).read_text()
                and meta.get("options") == options):
            say(f"{directory.name}: already in the current format")
            return False
        with atomic_directory(directory, is_preset, False, "preset") as tmp:
            (tmp / CONFIG).write_text(config)
            shutil.copy2(directory / WEIGHTS if keep_weights else weights, tmp / WEIGHTS)
            for name in (CARD, *OPTIONAL_FILES):
                if name in meta["files"]:
                    shutil.copy2(directory / name, tmp / name)
            new_meta = {**meta, "options": options}
            new_meta["files"] = {name: sha256(tmp / name) for name in meta["files"]}
            (tmp / METADATA).write_text(json.dumps(new_meta, indent=2, sort_keys=True) + "\n")
            _check_reproduces(tmp, model, new_meta)
    say(f"{directory.name}: config.json re-saved"
        f"{'' if keep_weights else ', weights re-laid out (same values)'}")
    return True


def _layout(path: Path) -> list[tuple[str, tuple[int, ...]]]:
    """Where each array of a weights file is, and its shape."""
    found = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: found.append((name, item.shape))
                     if isinstance(item, h5py.Dataset) else None)
    return sorted(found)


def _check_reproduces(folder: Path, old_model, meta: dict) -> None:
    """The re-saved folder must load and give the old model's reconstruction errors and the
    recorded sample check; raising here leaves the preset as it was."""
    check = meta.get("sample_check")
    if check is None:
        raise ValueError(f"{meta['name']} has no sample_check in its metadata to verify against.")
    new_model = load_preset(folder, compile=False)
    x, labels = shipped_sample(check["sample"])
    kwargs = {"condition": labels} if check["conditioned_on_labels"] else {}
    error = new_model.reconstruction_error(x, **kwargs)
    np.testing.assert_allclose(error, old_model.reconstruction_error(x, **kwargs),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(error.mean(), check["mean_reconstruction_error"], rtol=1e-4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="presets to re-save (default: all)")
    parser.add_argument("--weights", type=Path, default=ROOT / "weights",
                        help="the folder of presets (default: weights/ of this checkout)")
    args = parser.parse_args(argv)
    folders = ([args.weights / name for name in args.names] if args.names else
               sorted(p for p in args.weights.iterdir() if (p / METADATA).is_file()))
    changed = sum(resave(folder) for folder in folders)
    print(f"{changed} of {len(folders)} presets re-saved.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
