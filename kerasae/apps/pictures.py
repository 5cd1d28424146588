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
