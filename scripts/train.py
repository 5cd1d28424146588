"""Train a bundled preset from its recipe (kerasae.presets) and write it to weights/NAME.

    KERAS_BACKEND=tensorflow python scripts/train.py vae_mnist

Resumable: progress is backed up every epoch (keras.callbacks.BackupAndRestore) in
checkpoints/NAME/ (scratch, not in git), and a rerun after an interruption continues from the
last finished epoch. To carry an unfinished run to another machine, stop it and run
`python scripts/train.py NAME --park`: the last backup (weights and optimizer state, a few MB)
and the recipe it belongs to are copied to training/checkpoints/NAME/, which git tracks; commit
it. `scripts/train.py NAME` on the other checkout resumes from it (refusing if the recipe has
changed since), and removes it once the finished preset is written to weights/NAME.
Training runs on the accelerator Keras finds (a GPU on TensorFlow or JAX when one is visible),
else on the CPU; the first line printed names the devices.
Then run `python scripts/evaluate.py NAME` to measure it and fill in its model card.
A recipe with optimizer="lbfgs" trains full-batch with L-BFGS on TensorFlow instead (its
epochs count L-BFGS iterations; no backups).

--distribute data_parallel trains on every local GPU (else every CPU device) with Keras'
DataParallel on JAX or tf.distribute.MirroredStrategy on TensorFlow; --distribute multi_worker
spans several hosts (JAX: run on each host with $KERAS_DISTRIBUTION_JOB_ADDRESSES,
$KERAS_DISTRIBUTION_NUM_PROCESSES and $KERAS_DISTRIBUTION_PROCESS_ID set; TensorFlow: with
$TF_CONFIG set). The recipe's batch size is the global one, split between the devices.
Not supported on PyTorch.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

import keras

import kerasae
from kerasae._atomic import atomic_directory
from kerasae.distribute import MODES, Placement, distribution_scope, global_batches
from kerasae.presets import RECIPES, recipe
from kerasae.presets.lbfgs import lbfgs_train

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"  # the recipes' datasets, unless $KERASAE_DATA_DIR is set
PARKED = ROOT / "training" / "checkpoints"
BACKUP_FILES = ("latest.weights.h5", "training_metadata.json")  # what BackupAndRestore writes
RECIPE_FILE = "recipe.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", choices=sorted(RECIPES), metavar="PRESET",
                        help=f"one of {', '.join(sorted(RECIPES))}")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--out", type=Path, default=ROOT / "weights", help="presets folder")
    parser.add_argument("--checkpoints", type=Path, default=ROOT / "checkpoints")
    parser.add_argument("--fresh", action="store_true", help="ignore an earlier interrupted run")
    parser.add_argument("--park", action="store_true",
                        help="copy the last backup of the stopped, unfinished run into "
                        "training/checkpoints/PRESET (tracked by git) and exit; see above")
    parser.add_argument("--parked", type=Path, default=PARKED, help=argparse.SUPPRESS)
    parser.add_argument("--distribute", choices=MODES, default="none",
                        help="none (one device, the default), data_parallel (every local "
                        "device) or multi_worker (several hosts); see above")
    args = parser.parse_args(argv)
    if args.park:
        epochs = args.epochs or recipe(args.preset).epochs
        park(args.checkpoints / args.preset, args.parked / args.preset,
             fingerprint(args.preset, epochs))
        return 0
    with distribution_scope(args.distribute) as placement:  # first: a cluster joins up front
        return train(args, placement)


def train(args: argparse.Namespace, placement: Placement) -> int:
    r = recipe(args.preset)
    epochs = args.epochs or r.epochs
    keras.utils.set_random_seed(r.seed)
    data = r.data()
    model = kerasae.build(r.variant, **r.build)
    if r.init_from:
        warm_start(model, r.init_from)
    train_data, validation_data = data.train, (data.validation,)
    fit_kwargs = {} if isinstance(data.train, keras.utils.PyDataset) else {
        "batch_size": r.batch_size, "shuffle": True}
    if keras.backend.backend() == "jax" and placement.workers > 1:
        if isinstance(data.train, keras.utils.PyDataset):
            raise SystemExit(f"{args.preset} streams its data (a PyDataset), which multi-host "
                             "JAX cannot split between hosts; train it on one host, or on "
                             "TensorFlow with --distribute multi_worker.")
        train_data, fit_kwargs = global_batches(data.train, r.batch_size, r.seed), {}
        validation_data = global_batches(data.validation, r.batch_size)
    steps = len(train_data) if not fit_kwargs else int(
        -(-len(data.train[0] if isinstance(data.train, list) else data.train) // r.batch_size))
    model.compile(optimizer=r.make_optimizer(steps, epochs))
    backup = args.checkpoints / args.preset
    if not placement.is_chief:  # every worker backs up; only the chief writes the results
        backup = args.checkpoints / f"{args.preset}.worker{placement.worker}"
    if args.fresh and backup.exists():
        shutil.rmtree(backup)
    parked = args.parked / args.preset
    if not args.fresh and placement.is_chief:
        unpark(parked, backup, fingerprint(args.preset, epochs))
    print(f"training {args.preset} on {', '.join(keras.distribution.list_devices())}",
          flush=True)
    start = time.time()
    if r.optimizer == "lbfgs":  # full batch, to convergence; epochs counts its iterations
        keras.utils.set_random_seed(r.seed)  # the same initial weights as the float32 model
        model, final = lbfgs_train(lambda: kerasae.build(r.variant, **r.build), data.train,
                                   iterations=epochs)
        model.compile(optimizer=keras.optimizers.Adam(r.learning_rate))  # for fine-tuning
    else:
        history = model.fit(
            train_data,
            validation_data=validation_data,
            epochs=epochs,
            callbacks=[keras.callbacks.BackupAndRestore(str(backup), delete_checkpoint=True)],
            verbose=2,
            **fit_kwargs,
        )
        final = {k: float(v[-1]) for k, v in history.history.items()} if history.history else {}
    seconds = time.time() - start
    if not placement.is_chief:
        print(f"worker {placement.worker} done after {seconds:.0f} s; the chief writes the preset")
        return 0
    command = f"KERAS_BACKEND={keras.backend.backend()} python scripts/train.py " + shlex.join(
        [args.preset] + (["--epochs", str(args.epochs)] if args.epochs else [])
        + (["--distribute", args.distribute] if args.distribute != "none" else []))
    kerasae.save_preset(model, args.out / args.preset, metadata={
        **r.preset_metadata(tuple(model.data_shape)),
        "training": {
            "command": command,
            "recipe": {"build": {k: list(v) if isinstance(v, tuple) else v
                                 for k, v in r.build.items()},
                       **({"iterations": epochs, "batch_size": "all training examples",
                           "optimizer": "L-BFGS-B (scipy), full batch"}
                          if r.optimizer == "lbfgs" else
                          {"epochs": epochs, "batch_size": r.batch_size,
                           "optimizer": r.optimizer_description()})},
            **({"init_from": r.init_from} if r.init_from else {}),
            "seed": r.seed,
            "devices": placement.replicas,
            "seconds": round(seconds, 1),
            "final_logs": final,
        },
    })
    remove_parked(parked)
    print(f"wrote {args.out / args.preset} after {seconds:.0f} s; now run "
          f"python scripts/evaluate.py {args.preset}")
    return 0


def warm_start(model: keras.Model, preset: str) -> None:
    """Start from the encoder and decoder weights of the bundled preset `preset` (a recipe's
    second stage: the same network, another objective)."""
    source = kerasae.load(preset)
    for part in ("encoder", "decoder"):
        try:
            getattr(model, part).set_weights(getattr(source, part).get_weights())
        except (AttributeError, ValueError) as error:
            raise SystemExit(f"cannot start from {preset}: its {part} does not match the "
                             f"recipe's network ({error})") from error
    print(f"starting from the weights of {preset}", flush=True)


def fingerprint(preset: str, epochs: int) -> dict:
    """What a backup belongs to: resuming it under another recipe would silently train a
    different model (or fail on shapes deep inside Keras)."""
    r = recipe(preset)
    return json.loads(json.dumps({
        "preset": preset, "variant": r.variant, "build": r.build, "epochs": epochs,
        "batch_size": r.batch_size, "learning_rate": r.learning_rate, "seed": r.seed,
        "optimizer": r.optimizer, **r.optimizer_settings(),
        **({"init_from": r.init_from} if r.init_from else {})}))


def park(backup: Path, parked: Path, recipe_fingerprint: dict) -> None:
    """Copy the last backup of an unfinished run, with its recipe, to `parked` (in git)."""
    missing = [name for name in BACKUP_FILES if not (backup / name).is_file()]
    if missing:
        raise SystemExit(f"nothing to park: {backup} lacks {missing}; a run backs up at the end "
                         "of each epoch, so stop it after its first epoch.")
    with atomic_directory(parked, is_ours=_is_parked, overwrite=False,
                          what="parked checkpoint") as tmp:
        for name in BACKUP_FILES:
            shutil.copy2(backup / name, tmp / name)
        (tmp / RECIPE_FILE).write_text(json.dumps(recipe_fingerprint, indent=1) + "\n")
    state = json.loads((backup / BACKUP_FILES[1]).read_text())
    size = sum((parked / name).stat().st_size for name in BACKUP_FILES)
    print(f"parked {backup} (epoch {state.get('epoch')} of {recipe_fingerprint['epochs']} done, "
          f"{size / 1e6:.1f} MB) in {parked}; commit it")


def unpark(parked: Path, backup: Path, recipe_fingerprint: dict) -> None:
    """Resume from a parked checkpoint when this machine has no backup of its own."""
    if not parked.exists() or (backup / BACKUP_FILES[0]).exists():
        return
    if not _is_parked(parked):
        raise SystemExit(f"{parked} should hold {list(BACKUP_FILES) + [RECIPE_FILE]} only; "
                         f"found {sorted(p.name for p in parked.iterdir())}")
    saved = json.loads((parked / RECIPE_FILE).read_text())
    if saved != recipe_fingerprint:
        changed = sorted(k for k in {**saved, **recipe_fingerprint}
                         if saved.get(k) != recipe_fingerprint.get(k))
        raise SystemExit(f"the run parked in {parked} was trained with another recipe (differs "
                         f"in {changed}: parked {({k: saved.get(k) for k in changed})}, now "
                         f"{({k: recipe_fingerprint.get(k) for k in changed})}); restore that "
                         "recipe, or pass --fresh to start over")
    backup.mkdir(parents=True, exist_ok=True)
    for name in BACKUP_FILES:
        shutil.copy2(parked / name, backup / name)
    print(f"resuming the run parked in {parked}", flush=True)


def remove_parked(parked: Path) -> None:
    """The preset has landed: its parked checkpoint is no longer needed."""
    if parked.exists() and _is_parked(parked):
        shutil.rmtree(parked)
        print(f"removed {parked}: the preset is finished")


def _is_parked(folder: Path) -> bool:
    return folder.is_dir() and {p.name for p in folder.iterdir()} <= {*BACKUP_FILES, RECIPE_FILE}


if __name__ == "__main__":
    os.environ.setdefault("KERASAE_DATA_DIR", str(DATA))
    sys.exit(main())
