"""Keras streaming datasets for the generated data. Imported only when one is asked for, so
`kerasae.data` itself never imports Keras or a backend."""

from __future__ import annotations

import math

import keras
import numpy as np

from kerasae._checks import check_int


class DSpritesBatches(keras.utils.PyDataset):
    """Batches of dSprites rendered on demand: x float32 (batch_size, 64, 64, 1), or (x, factor
    classes int64 (batch_size, 6)) with `with_factors`. Batch `i` of an epoch depends only on
    the epoch's permutation, so any number of workers gives the same batches."""

    def __init__(
        self,
        data,
        batch_size: int = 64,
        seed: int = 0,
        steps_per_epoch: int | None = None,
        with_factors: bool = False,
        shuffle: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        batch_size = check_int(batch_size, "batch_size")  # not 2.0, True or "64"
        full = math.ceil(len(data) / batch_size)
        if steps_per_epoch is not None:
            check_int(steps_per_epoch, "steps_per_epoch", maximum=full)
        self.data = data
        self.batch_size = int(batch_size)
        self.steps = full if steps_per_epoch is None else int(steps_per_epoch)
        self.with_factors = with_factors
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = self._new_order()

    def _new_order(self) -> np.ndarray:
        return self._rng.permutation(len(self.data)) if self.shuffle else np.arange(len(self.data))

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int):
        if not 0 <= index < self.steps:
            raise IndexError(f"batch {index} out of range 0..{self.steps - 1}")
        indices = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        return self.data._batch(indices, self.with_factors)

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._order = self._new_order()
