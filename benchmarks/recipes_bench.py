"""Section 9: what each preset's training recipe costs. For every recipe in kerasae.presets
that trains with `fit` (Adam), `fit`'s samples/s on that recipe's model, batch size and learning
rate, measured with short timed fits on synthetic data of the right shape (interleaved repeats),
and the recipe's projected wall time: epochs x training examples per epoch / samples/s. It is a
projection: validation, evaluation, checkpoints and the data pipeline of the real run (e.g.
dSprites rendered on the fly) are left out. Also the cost per epoch of `fit`'s finite guard
(kerasae.models._guards.FiniteLoss: weights and optimizer state copied and checked at each
epoch's end), in ms and as a share of the projected epoch.

    KERAS_BACKEND=tensorflow python -m benchmarks.recipes_bench --repeats 3 --target-s 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks import common, timing

ROOT = Path(__file__).resolve().parents[1]

# Training examples one epoch of a recipe sees, by its data function (kerasae/presets/recipes.py):
# MNIST train[:55000]; ECG5000's normal training beats after the held-out split, less 20 for
# validation (214); dSprites 1,000 batches of 64; the 8,495 CelebA training faces.
TRAIN_EXAMPLES = {"mnist_images": 55_000, "mnist_with_labels": 55_000,
                  "binarized_mnist": 55_000, "ecg5000_normal_beats": 214,
                  "dsprites_stream": 64_000, "celeba_faces": 8_495}


def all_recipes() -> dict:
    """The package's preset recipes, kerasae.presets.RECIPES (name -> Recipe)."""
    from kerasae.presets import RECIPES

    return RECIPES


def fit_recipes() -> dict:
    """The recipes trained by `fit` (L-BFGS ones train full batch in kerasae/presets/lbfgs.py)."""
    return {name: r for name, r in all_recipes().items() if r.optimizer == "adam"}


def synthetic_inputs(recipe, n: int):
    """n examples shaped as the recipe's model takes them, values in [0, 1] (+ labels)."""
    rng = np.random.default_rng(0)
    x = rng.random((n, *recipe.build["input_shape"])).astype("float32")
    if recipe.build.get("num_classes"):
        return [x, rng.integers(0, recipe.build["num_classes"], n).astype("int32")]
    return x


def guard_check_seconds(model, repeats: int) -> float:
    """Median seconds of what `fit`'s FiniteLoss guard does at each epoch's end (copy the
    weights and the optimizer's state to numpy, check them finite): its cost per epoch."""
    from kerasae.models._guards import FiniteLoss

    guard = FiniteLoss()
    guard.set_model(model)
    guard.on_train_begin()
    seconds = []
    for _ in range(max(3, repeats)):
        start = time.perf_counter()
        guard.on_epoch_end(0, {})
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target-s", type=float, default=2.0)
    parser.add_argument("--max-steps", type=int, default=200)
    parser.add_argument("--only", default=None, help="comma-separated recipe names")
    args = parser.parse_args(argv)
    common.set_backend(args.backend)
    import keras

    import kerasae

    recipes = fit_recipes()
    if args.only:
        recipes = {k: recipes[k] for k in args.only.split(",")}
    skipped = {name: f"{r.optimizer}: full batch in kerasae/presets/lbfgs.py, not fit"
               for name, r in all_recipes().items() if r.optimizer != "adam"}
    runs, steps, models = {}, {}, {}
    for name, r in recipes.items():
        model = models[name] = kerasae.build(r.variant, **r.build)
        model.compile(optimizer=keras.optimizers.Adam(r.learning_rate))
        data = synthetic_inputs(r, r.batch_size * args.max_steps)

        def run(k: int, model=model, data=data, b=r.batch_size):
            part = [d[: k * b] for d in data] if isinstance(data, list) else data[: k * b]
            model.fit(part, batch_size=b, epochs=1, verbose=0)

        run(2)  # tracing
        start = time.perf_counter()
        run(4)
        steps[name] = common.steps_for((time.perf_counter() - start) / 4, args.target_s, 4,
                                       args.max_steps)
        runs[name] = run
    cases = {name: (lambda r=run, s=steps[name]: r(s)) for name, run in runs.items()}
    seconds = timing.interleave(cases, args.repeats)
    guard = {name: guard_check_seconds(models[name], args.repeats) for name in recipes}
    rows = {}
    for name, r in recipes.items():
        rates = [steps[name] * r.batch_size / t for t in seconds[name]]
        stats = timing.summarize(rates)
        examples = TRAIN_EXAMPLES[r.data.__name__]
        rows[name] = {"variant": r.variant, "input_shape": list(r.build["input_shape"]),
                      "batch_size": r.batch_size, "epochs": r.epochs,
                      "examples_per_epoch": examples, "steps": steps[name],
                      "samples_per_s": stats.as_dict(),
                      "projected_hours": r.epochs * examples / stats.median / 3600,
                      "guard_ms_per_epoch": guard[name] * 1000,
                      "guard_share_of_epoch": guard[name] / (examples / stats.median),
                      "raw_samples_per_s": rates}
    result = {"backend": keras.backend.backend(), "recipes": rows, "skipped": skipped}
    timing.emit(result)
    return result


if __name__ == "__main__":
    main()
