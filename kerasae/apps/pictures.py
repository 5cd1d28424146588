"""Pictures as PNG files (matplotlib, no screen needed)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np


def image_rows(rows: Sequence[np.ndarray], path: str | os.PathLike,
               titles: Sequence[str] | None = None, dpi: int = 100) -> str:
    """Save a grid with one row per array of images (N, H, W[, C]); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [np.asarray(r) for r in rows]
    n = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), n, figsize=(n * 0.9, len(rows) * 1.0), squeeze=False)
    for i, row in enumerate(rows):
        for j in range(n):
            ax = axes[i][j]
            ax.axis("off")
            if j < len(row):
                image = row[j][..., 0] if row[j].ndim == 3 and row[j].shape[-1] == 1 else row[j]
                ax.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1)
        if titles:
            axes[i][0].set_title(titles[i], fontsize=8, loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return str(path)


def hidden_unit_inputs(model, layer: str | None = None) -> np.ndarray:
    """The input that maximally activates each hidden unit of a model's first dense layer,
    under a norm constraint (the seed lecture): x_j = W_ij / sqrt(sum_j W_ij^2).

    Returns (units, *input_shape). `layer` names the layer (default: the encoder's first
    layer with a 2-D kernel)."""
    import keras

    encoder = model.encoder
    candidates = [lyr for lyr in encoder.layers if getattr(lyr, "kernel", None) is not None
                  and len(lyr.kernel.shape) == 2]
    if layer is not None:
        candidates = [encoder.get_layer(layer)]
    if not candidates:
        raise ValueError("the encoder has no dense layer whose weights can be pictured.")
    weights = keras.ops.convert_to_numpy(candidates[0].kernel)  # (inputs, units)
    norms = np.sqrt(np.sum(weights**2, axis=0, keepdims=True))
    inputs = (weights / np.maximum(norms, 1e-12)).T
    shape = tuple(model.data_shape)
    if int(np.prod(shape)) != inputs.shape[1]:
        raise ValueError(f"the first dense layer sees {inputs.shape[1]} inputs, not the "
                         f"{int(np.prod(shape))} of input shape {shape}.")
    return inputs.reshape(len(inputs), *shape)


def unit_grid(images: np.ndarray, path: str | os.PathLike, columns: int = 10,
              image_shape: tuple[int, int] | None = None, dpi: int = 100) -> str:
    """Save images (each scaled to its own [min, max]) as a grid, as filters are shown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if image_shape is not None:
        images = images.reshape(len(images), *image_shape)
    images = images[..., 0] if images.ndim == 4 and images.shape[-1] == 1 else images
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.8, rows * 0.8), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image in zip(axes.ravel(), images, strict=False):
        low, high = image.min(), image.max()
        ax.imshow((image - low) / max(high - low, 1e-12), cmap="gray", vmin=0, vmax=1)
    fig.tight_layout(pad=0.1)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return str(path)
