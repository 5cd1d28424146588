"""Section 5: streaming training from data that does not fit in memory. A small dense AE
trains one epoch at growing dataset sizes, each size in a fresh process, to show that peak
memory stays flat and time grows linearly (constant time per example).

    python -m benchmarks.scale write --path /tmp/x.f32 --n 10000000
    python -m benchmarks.scale memmap --path /tmp/x.f32 --n 10000000
    python -m benchmarks.scale dsprites --n 100000

Sources: a float32 file on disk (written chunk by chunk through np.memmap, never whole in
memory) read by a keras.utils.PyDataset that maps only the batch it serves (np.memmap with an
offset, copied, unmapped: a file-backed mapping of the whole file would count every page read
in the process's RSS, though the kernel may drop them), and kerasae's dSprites generator
(`DSprites().batches`, rendered on demand).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from benchmarks import common, timing

DIM = 64  # floats per example of the file-backed dataset
LATENT = 8  # the data lie near an 8-dimensional subspace, so the AE has something to learn


def write(path: Path, n: int, dim: int = DIM, chunk: int = 1 << 18, seed: int = 0) -> dict:
    """Write n examples (float32, dim each) to `path` in chunks: x = z W + noise."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((LATENT, dim)).astype(np.float32) / math.sqrt(LATENT)
    start = time.perf_counter()
    data = np.memmap(path, dtype=np.float32, mode="w+", shape=(n, dim))
    for i in range(0, n, chunk):
        m = min(chunk, n - i)
        z = rng.standard_normal((m, LATENT), dtype=np.float32)
        data[i : i + m] = z @ basis + 0.05 * rng.standard_normal((m, dim), dtype=np.float32)
        data.flush()
    del data
    return {"n": n, "bytes": n * dim * 4, "seconds": time.perf_counter() - start}


def memmap_dataset(path: Path, n: int, batch_size: int, dim: int = DIM, **kwargs):
    """A PyDataset of batches (batch_size, dim) read from `path`; batch order shuffled each
    epoch; only the served batch is ever mapped."""
    import keras

    class MemmapBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(**kwargs)
            self.steps = math.ceil(n / batch_size)
            self.order = np.random.default_rng(0).permutation(self.steps)

        def __len__(self) -> int:
            return self.steps

        def __getitem__(self, index: int):
            start = int(self.order[index]) * batch_size
            rows = min(batch_size, n - start)
            window = np.memmap(path, dtype=np.float32, mode="r", offset=start * dim * 4,
                               shape=(rows, dim))
            batch = np.array(window)
            del window
            return batch

        def on_epoch_end(self) -> None:
            self.order = np.random.default_rng(len(self.order)).permutation(self.steps)

    return MemmapBatches()


class SteadyTimer:
    """A Keras callback timing the steps after the first `skip` (tracing and the first batches
    excluded), so time per example compares across sizes."""

    def __init__(self, skip: int):
        import keras

        outer = self

        class _Callback(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if batch == outer.skip and outer.start is None:
                    outer.start = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                outer.batches += 1

            def on_train_end(self, logs=None):
                outer.end = time.perf_counter()

        self.skip, self.start, self.end, self.batches = skip, None, None, 0
        self.callback = _Callback()

    def seconds_per_batch(self) -> float | None:
        if self.start is None or self.end is None or self.batches <= self.skip:
            return None
        return (self.end - self.start) / (self.batches - self.skip)


def train(dataset, input_shape: tuple[int, ...], n: int, batch_size: int, epochs: int = 1,
          hidden: tuple[int, ...] = (32,), latent_dim: int = LATENT) -> dict:
    """Fit a dense AE on `dataset`; wall time, steady time per example and memory."""
    import keras

    import kerasae

    model = kerasae.build("ae", input_shape=input_shape, latent_dim=latent_dim,
                          hidden_units=hidden, architecture="dense")
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    rss_before, peak_before = timing.rss_mib(), timing.peak_rss_mib()
    steps = len(dataset) * epochs
    timer = SteadyTimer(skip=min(5, max(steps // 10, 1)))
    start = time.perf_counter()
    history = model.fit(dataset, epochs=epochs, verbose=0, callbacks=[timer.callback])
    wall = time.perf_counter() - start
    per_batch = timer.seconds_per_batch()
    return {
        "n": n,
        "batch_size": batch_size,
        "steps": steps,
        "wall_s": wall,
        "us_per_example_steady": None if per_batch is None else per_batch / batch_size * 1e6,
        "us_per_example_wall": wall / n * 1e6,
        "rss_before_fit_mib": rss_before,
        "peak_rss_before_fit_mib": peak_before,
        "peak_rss_mib": timing.peak_rss_mib(),
        "rss_after_fit_mib": timing.rss_mib(),
        "final_loss": float(history.history["loss"][-1]),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["write", "memmap", "dsprites"])
    parser.add_argument("--backend", default=None)
    parser.add_argument("--path", type=Path)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    common.set_backend(args.backend)
    loader = {"workers": args.workers, "use_multiprocessing": False, "max_queue_size": 8}
    if args.command == "write":
        result = write(args.path, args.n)
    elif args.command == "memmap":
        dataset = memmap_dataset(args.path, args.n, args.batch_size, **loader)
        result = train(dataset, (DIM,), args.n, args.batch_size)
    else:
        from kerasae.data import DSprites

        data = DSprites()
        steps = math.ceil(args.n / args.batch_size)
        per_epoch = min(steps, math.ceil(len(data) / args.batch_size))
        epochs = math.ceil(steps / per_epoch)
        dataset = data.batches(batch_size=args.batch_size, steps_per_epoch=steps // epochs,
                               **loader)
        n = dataset.steps * epochs * args.batch_size
        result = train(dataset, (64, 64, 1), n, args.batch_size, epochs=epochs, hidden=(64,))
        result["epochs"] = epochs
    import keras

    result["backend"] = keras.backend.backend() if args.command != "write" else None
    timing.emit(result)
    return result


if __name__ == "__main__":
    main()
