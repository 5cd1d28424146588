"""Train a bundled preset from its recipe and write it to weights/NAME.

    KERAS_BACKEND=tensorflow python scripts/train.py vae_mnist

Resumable: progress is backed up every epoch (keras.callbacks.BackupAndRestore) in
checkpoints/NAME/, and a rerun after an interruption continues from the last finished epoch.
Then run `python scripts/evaluate.py NAME` to measure it and fill in its model card.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from pathlib import Path

import keras

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recipes import RECIPES, recipe  # noqa: E402

import kerasae  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", choices=sorted(RECIPES), metavar="PRESET",
                        help=f"one of {', '.join(sorted(RECIPES))}")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--out", type=Path, default=ROOT / "weights", help="presets folder")
    parser.add_argument("--checkpoints", type=Path, default=ROOT / "checkpoints")
    parser.add_argument("--fresh", action="store_true", help="ignore an earlier interrupted run")
    args = parser.parse_args(argv)

    r = recipe(args.preset)
    epochs = args.epochs or r.epochs
    keras.utils.set_random_seed(r.seed)
    data = r.data()
    model = kerasae.build(r.variant, **r.build)
    steps = len(data.train) if isinstance(data.train, keras.utils.PyDataset) else int(
        -(-len(data.train[0] if isinstance(data.train, list) else data.train) // r.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(r.learning_rate, epochs * steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(schedule))
    backup = args.checkpoints / args.preset
    if args.fresh and backup.exists():
        shutil.rmtree(backup)
    start = time.time()
    fit_kwargs = {} if isinstance(data.train, keras.utils.PyDataset) else {
        "batch_size": r.batch_size, "shuffle": True}
    history = model.fit(
        data.train,
        validation_data=(data.validation,),
        epochs=epochs,
        callbacks=[keras.callbacks.BackupAndRestore(str(backup), delete_checkpoint=True)],
        verbose=2,
        **fit_kwargs,
    )
    seconds = time.time() - start
    final = {k: float(v[-1]) for k, v in history.history.items()} if history.history else {}
    command = "KERAS_BACKEND=tensorflow python scripts/train.py " + shlex.join(
        [args.preset] + (["--epochs", str(args.epochs)] if args.epochs else []))
    kerasae.save_preset(model, args.out / args.preset, metadata={
        "description": r.description,
        "dataset": r.dataset,
        "preprocessing": r.preprocessing,
        "licence": r.licence,
        "licence_id": r.licence_id,
        "tags": list(r.tags),
        "training": {
            "command": command,
            "recipe": {"build": {k: list(v) if isinstance(v, tuple) else v
                                 for k, v in r.build.items()},
                       "epochs": epochs, "batch_size": r.batch_size,
                       "optimizer": f"Adam, cosine decay from {r.learning_rate} to 5% of it"},
            "seed": r.seed,
            "seconds": round(seconds, 1),
            "final_logs": final,
        },
    })
    print(f"wrote {args.out / args.preset} after {seconds:.0f} s; now run "
          f"python scripts/evaluate.py {args.preset}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
