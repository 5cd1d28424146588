"""Train a bundled preset from its recipe (kerasae.presets) and write it to weights/NAME.

    KERAS_BACKEND=tensorflow python scripts/train.py vae_mnist

Resumable: progress is backed up every epoch (keras.callbacks.BackupAndRestore) in
checkpoints/NAME/, and a rerun after an interruption continues from the last finished epoch.
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
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

import keras

import kerasae
from kerasae.distribute import MODES, Placement, distribution_scope, global_batches
from kerasae.presets import RECIPES, recipe
from kerasae.presets.lbfgs import lbfgs_train

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"  # the recipes' datasets, unless $KERASAE_DATA_DIR is set


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", choices=sorted(RECIPES), metavar="PRESET",
                        help=f"one of {', '.join(sorted(RECIPES))}")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--out", type=Path, default=ROOT / "weights", help="presets folder")
    parser.add_argument("--checkpoints", type=Path, default=ROOT / "checkpoints")
    parser.add_argument("--fresh", action="store_true", help="ignore an earlier interrupted run")
    parser.add_argument("--distribute", choices=MODES, default="none",
                        help="none (one device, the default), data_parallel (every local "
                        "device) or multi_worker (several hosts); see above")
    args = parser.parse_args(argv)
    with distribution_scope(args.distribute) as placement:  # first: a cluster joins up front
        return train(args, placement)


def train(args: argparse.Namespace, placement: Placement) -> int:
    r = recipe(args.preset)
    epochs = args.epochs or r.epochs
    keras.utils.set_random_seed(r.seed)
    data = r.data()
    model = kerasae.build(r.variant, **r.build)
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
    schedule = keras.optimizers.schedules.CosineDecay(r.learning_rate, epochs * steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(schedule))
    backup = args.checkpoints / args.preset
    if not placement.is_chief:  # every worker backs up; only the chief writes the results
        backup = args.checkpoints / f"{args.preset}.worker{placement.worker}"
    if args.fresh and backup.exists():
        shutil.rmtree(backup)
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
                       **({"iterations": epochs, "batch_size": "all training examples",
                           "optimizer": "L-BFGS-B (scipy), full batch"}
                          if r.optimizer == "lbfgs" else
                          {"epochs": epochs, "batch_size": r.batch_size,
                           "optimizer": f"Adam, cosine decay from {r.learning_rate} to 5% "
                           "of it"})},
            "seed": r.seed,
            "devices": placement.replicas,
            "seconds": round(seconds, 1),
            "final_logs": final,
        },
    })
    print(f"wrote {args.out / args.preset} after {seconds:.0f} s; now run "
          f"python scripts/evaluate.py {args.preset}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("KERASAE_DATA_DIR", str(DATA))
    sys.exit(main())
