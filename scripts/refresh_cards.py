"""Bring the bundled presets' metadata and model cards up to what the package declares, weights
and measured numbers untouched.

Sets in each preset's metadata.json the fields its recipe declares (kerasae.presets.Recipe.
preset_metadata: description, dataset, licence, fine-tuning rate, image preprocessing, ...),
the targets and cited reference figures of its metrics and the missed-targets note
(kerasae.presets.cards), and the parameter count and save date where an older card lacks them;
then regenerates README.md through kerasae.hub.update_metadata, which copies config.json and
model.weights.h5 byte for byte (check with `git diff --stat weights/`). No number is
re-measured: that is scripts/evaluate.py's job.

    python scripts/refresh_cards.py            # every bundled preset
    python scripts/refresh_cards.py ae_mnist   # some
"""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path
from typing import Any

import kerasae
from kerasae.hub import read_metadata, update_metadata
from kerasae.hub.preset import DATE_FORMAT
from kerasae.hub.registry import bundled_path
from kerasae.presets import recipe
from kerasae.presets.cards import annotate, targets_note


def date_saved(path: Path) -> str:
    """When the weights file was committed (UTC), in KerasHub's format; now if uncommitted."""
    stamp = subprocess.run(["git", "log", "-1", "--format=%ct", "--", str(path)],
                           capture_output=True, text=True, cwd=path.parent).stdout.strip()
    when = (datetime.datetime.fromtimestamp(int(stamp), datetime.timezone.utc) if stamp
            else datetime.datetime.now(datetime.timezone.utc))
    return when.strftime(DATE_FORMAT)


def refresh(name: str) -> None:
    folder = bundled_path(name)
    meta = read_metadata(folder)
    fields: dict[str, Any] = recipe(name).preset_metadata(tuple(meta["input_spec"]["shape"]))
    if meta.get("metrics"):
        fields["metrics"] = annotate(name, meta["metrics"])
        fields["notes"] = targets_note(fields["metrics"])
    if not meta.get("parameter_count"):
        fields["parameter_count"] = int(kerasae.load(folder, compile=False).count_params())
    if not meta.get("date_saved"):
        fields["date_saved"] = date_saved(folder / "model.weights.h5")
    changed = sorted(k for k, v in fields.items() if meta.get(k) != v)
    if changed:
        update_metadata(folder, **fields)
    print(f"{name}: {'changed ' + ', '.join(changed) if changed else 'up to date'}")


if __name__ == "__main__":
    for preset in sys.argv[1:] or kerasae.list_models():
        refresh(preset)
