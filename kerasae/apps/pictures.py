"""Pictures as PNG files (matplotlib's Agg canvas: no screen, no pyplot state).

Images are (H, W) or (H, W, 1) grey, (H, W, 3) RGB or (H, W, 4) RGBA, with values in [0, 1];
a flat vector of a square length (784) is shown as a square. Every function returns the path
it wrote; a picture is figsize * dpi pixels.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kerasae._checks import check_int, numbers, to_numpy
from kerasae.metrics import principal_components
from kerasae.protocols import Masked, Reconstructs

CELL = 0.9  # inches per image in a grid
MAX_CLASSES = 20  # more distinct labels than this are coloured as a continuous quantity


# ----- shared matplotlib setup ------------------------------------------------------------


def _figure(figsize: tuple[float, float]):
    """A figure on its own Agg canvas: nothing global changes (no matplotlib.use, no pyplot
    figure registry to leak), so it is safe inside notebooks and threads."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: str | os.PathLike, dpi: int) -> str:
    figure.savefig(path, dpi=dpi, format="png")
    return str(path)


def _picture(image: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """An image as imshow wants it, with the keyword arguments that show it unscaled."""
    image = np.asarray(image, dtype="float64")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 1:
        side = math.isqrt(len(image))
        image = image.reshape(side, side) if side * side == len(image) else image[None, :]
    if image.ndim == 2:
        return image, {"cmap": "gray", "vmin": 0.0, "vmax": 1.0}
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        return image, {}
    raise ValueError(
        "an image must be (H, W) or (H, W, 1) grey, (H, W, 3) RGB or (H, W, 4) RGBA; "
        f"got shape {image.shape}."
    )


def _show(ax, image: np.ndarray, rescale: bool = False) -> None:
    """Draw one image on ax: clipped to [0, 1], or stretched to it with `rescale`."""
    picture, style = _picture(image)
    if rescale:
        low, high = picture.min(), picture.max()
        picture = (picture - low) / max(high - low, 1e-12)
    aspect = "auto" if picture.shape[0] == 1 else "equal"  # a non-square vector: a strip
    ax.imshow(np.clip(np.nan_to_num(picture), 0.0, 1.0), interpolation="nearest",
              aspect=aspect, **style)


def _image_grid(rows: Sequence[np.ndarray], figsize: tuple[float, float],
                rescale: bool = False):
    """A figure with one row of axes per array of images (short rows leave blanks)."""
    columns = max(len(row) for row in rows)
    figure = _figure(figsize)
    axes = figure.subplots(len(rows), columns, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for axes_row, row in zip(axes, rows, strict=True):
        for ax, image in zip(axes_row, row, strict=False):
            _show(ax, image, rescale)
    return figure, axes


def _images(images: Any, what: str) -> np.ndarray:
    """A batch of images (N >= 1); NaN is allowed (drawn black) so a diverged model's output
    can still be looked at."""
    array = to_numpy(images)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number) or array.ndim < 2:
        raise ValueError(f"{what} must be a numeric array of images (N, H, W[, C]); got "
                         f"shape {array.shape} and dtype {array.dtype}.")
    if len(array) == 0:
        raise ValueError(f"{what} has no images; expected shape (N, H, W[, C]) with N >= 1.")
    _picture(array[0])  # fail early, naming the shape, for something that is not an image
    return array


def _chunks(images: np.ndarray, columns: int) -> list[np.ndarray]:
    return [images[i : i + columns] for i in range(0, len(images), columns)]


# ----- rows and grids of images -----------------------------------------------------------


def image_rows(rows: Sequence[np.ndarray], path: str | os.PathLike,
               titles: Sequence[str] | None = None, dpi: int = 100,
               figsize: tuple[float, float] | None = None) -> str:
    """Save a grid with one row per array of images (N, H, W[, C]); returns the path."""
    rows = [_images(row, f"rows[{i}]") for i, row in enumerate(rows)]
    columns = max(len(row) for row in rows)
    figure, axes = _image_grid(rows, figsize or (columns * CELL, len(rows) * 1.0))
    for ax, title in zip(axes[:, 0], titles or (), strict=False):
        if title:
            ax.set_title(title, fontsize=8, loc="left")
    figure.tight_layout()
    return _save(figure, path, dpi)


def sample_grid(images: np.ndarray, path: str | os.PathLike, columns: int = 10,
                dpi: int = 100, figsize: tuple[float, float] | None = None,
                title: str | None = None) -> str:
    """Save images (N, H, W[, C]) in [0, 1] as a grid `columns` wide, e.g. a model's samples."""
    columns = check_int(columns, "columns")
    rows = _chunks(_images(images, "images"), columns)
    width = min(columns, len(rows[0]))
    figure, _ = _image_grid(rows, figsize or (width * CELL, len(rows) * CELL))
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout(pad=0.2)
    return _save(figure, path, dpi)


def reconstruction_grid(model: Reconstructs, x, path: str | os.PathLike, n: int = 10,
                        condition=None, dpi: int = 100,
                        figsize: tuple[float, float] | None = None) -> str:
    """Save the first n examples of x above the model's reconstructions of them.

    For a model that hides part of its input (a masked autoencoder's `inference_mask()`), a
    middle row shows what the encoder sees, with the hidden pixels grey."""
    x = np.asarray(x)
    n = min(check_int(n, "n"), len(x))
    x = x[:n]
    labels = condition
    if labels is not None and np.ndim(labels) > 0:  # one label per example: keep the first n
        labels = np.asarray(labels)[:n]
    rows, titles = [x], ["input"]
    if isinstance(model, Masked) and x.ndim >= 3:
        hidden = np.asarray(model.inference_mask(), dtype=bool)
        hidden = hidden.reshape(x.shape[1:3] + (1,) * (x.ndim - 3))
        rows.append(np.where(hidden, 0.5, x))
        titles.append("what the encoder sees")
    rows.append(model.reconstruct(x, condition=labels))
    titles.append("reconstruction")
    return image_rows(rows, path, titles, dpi=dpi, figsize=figsize)


def traversal_grid(grid: np.ndarray, path: str | os.PathLike,
                   row_labels: Sequence[str] | None = None,
                   column_labels: Sequence[str] | None = None, dpi: int = 100,
                   figsize: tuple[float, float] | None = None) -> str:
    """Save a latent traversal (rows, columns, H, W[, C]), e.g. from apps.generation.traverse:
    row i sweeps one latent dimension (row_labels[i], e.g. "z3"), column j one value."""
    grid = to_numpy(grid)
    if grid.ndim < 3 or 0 in grid.shape[:2]:
        raise ValueError(f"grid must be (rows, columns, H, W[, C]); got shape {grid.shape}.")
    _images(grid.reshape(-1, *grid.shape[2:]), "grid")
    for labels, count, what in ((row_labels, len(grid), "row_labels"),
                                (column_labels, grid.shape[1], "column_labels")):
        if labels is not None and len(labels) != count:
            raise ValueError(f"{what} must have {count} entries, one per "
                             f"{what.split('_')[0]} of the grid; got {len(labels)}.")
    default = (grid.shape[1] * CELL + (0.6 if row_labels else 0.0),
               len(grid) * CELL + (0.3 if column_labels else 0.0))
    figure, axes = _image_grid(list(grid), figsize or default)
    for ax, label in zip(axes[:, 0], row_labels or (), strict=False):
        ax.text(-0.08, 0.5, str(label), transform=ax.transAxes, ha="right", va="center",
                fontsize=8)
    for ax, label in zip(axes[0], column_labels or (), strict=False):
        ax.set_title(str(label), fontsize=8)
    figure.tight_layout(pad=0.2)
    return _save(figure, path, dpi)


def hidden_unit_inputs(model, layer: str | None = None) -> np.ndarray:
    """The input that maximally activates each hidden unit of a model's first dense layer,
    under a norm constraint (the seed lecture): x_j = W_ij / sqrt(sum_j W_ij^2).

    Returns (units, *input_shape). `layer` names the layer (default: the encoder's first
    layer with a 2-D kernel)."""
    encoder = model.encoder
    candidates = [lyr for lyr in encoder.layers if getattr(lyr, "kernel", None) is not None
                  and len(lyr.kernel.shape) == 2]
    if layer is not None:
        candidates = [encoder.get_layer(layer)]
    if not candidates:
        raise ValueError("the encoder has no dense layer whose weights can be pictured.")
    weights = to_numpy(candidates[0].kernel)  # (inputs, units)
    norms = np.sqrt(np.sum(weights**2, axis=0, keepdims=True))
    inputs = (weights / np.maximum(norms, 1e-12)).T
    shape = tuple(model.data_shape)
    if int(np.prod(shape)) != inputs.shape[1]:
        raise ValueError(f"the first dense layer sees {inputs.shape[1]} inputs, not the "
                         f"{int(np.prod(shape))} of input shape {shape}.")
    return inputs.reshape(len(inputs), *shape)


def unit_grid(images: np.ndarray, path: str | os.PathLike, columns: int = 10,
              image_shape: tuple[int, int] | None = None, dpi: int = 100,
              figsize: tuple[float, float] | None = None) -> str:
    """Save images (each scaled to its own [min, max]) as a grid, as filters are shown."""
    images = np.asarray(images)
    if image_shape is not None:
        images = images.reshape(len(images), *image_shape)
    columns = check_int(columns, "columns")
    rows = _chunks(_images(images, "images"), columns)
    figure, _ = _image_grid(rows, figsize or (columns * 0.8, len(rows) * 0.8), rescale=True)
    figure.tight_layout(pad=0.1)
    return _save(figure, path, dpi)


# ----- codes and training -----------------------------------------------------------------


def project_codes(codes) -> tuple[np.ndarray, tuple[str, str]]:
    """Codes (N, D) as points in a plane, with the names of its axes: the codes themselves for
    D = 2, their first two principal components (numpy PCA) for D > 2, and the one
    coordinate against 0 for D = 1."""
    codes = numbers(codes, "codes", ndim=2)
    dims = codes.shape[1]
    if dims == 1:
        return np.column_stack([codes[:, 0], np.zeros(len(codes))]), ("z[0]", "")
    if dims == 2:
        return codes, ("z[0]", "z[1]")
    if len(codes) < 2:
        raise ValueError(f"projecting {dims}-D codes onto their principal components needs at "
                         f"least 2 codes; got {len(codes)}.")
    fitted = principal_components(codes, 2)
    points = (codes - fitted.mean) @ fitted.components
    share = fitted.variances[:2] / max(float(fitted.variances.sum()), 1e-300)
    first, second = (f"PC {i + 1} of {dims}-D codes ({100 * s:.0f}% of variance)"
                     for i, s in enumerate(share))
    return points, (first, second)


def latent_map(codes, labels, path: str | os.PathLike, dpi: int = 100,
               figsize: tuple[float, float] = (6.0, 5.0), title: str | None = None) -> str:
    """Save a scatter of codes (N, D) in a plane (project_codes), coloured by label: a legend
    for up to 20 classes, a colour bar for continuous labels, one colour for labels=None."""
    points, (x_name, y_name) = project_codes(codes)
    figure = _figure(figsize)
    ax = figure.subplots()
    style = {"s": 8, "alpha": 0.75, "linewidths": 0}
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], **style)
    else:
        labels = numbers(labels, "labels", ndim=1)
        if len(labels) != len(points):
            raise ValueError(f"labels must have {len(points)} entries, one per code; "
                             f"got {len(labels)}.")
        _coloured_scatter(figure, ax, points, labels, style)
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    if not y_name:
        ax.set_yticks([])
    if title:
        ax.set_title(title)
    figure.tight_layout()
    return _save(figure, path, dpi)


def _coloured_scatter(figure, ax, points: np.ndarray, labels: np.ndarray, style: dict) -> None:
    classes = np.unique(labels)
    if np.all(labels == np.round(labels)) and len(classes) <= MAX_CLASSES:
        colours = _class_colours(len(classes))
        for colour, value in zip(colours, classes, strict=True):
            chosen = labels == value
            ax.scatter(points[chosen, 0], points[chosen, 1], color=colour,
                       label=f"{value:g}", **style)
        ax.legend(fontsize=7, markerscale=2, loc="best", ncol=1 + len(classes) // 11)
    else:
        dots = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="viridis", **style)
        figure.colorbar(dots, ax=ax)


def _class_colours(count: int) -> list:
    from matplotlib import colormaps

    palette = colormaps["tab10" if count <= 10 else "tab20"]
    return [palette(i) for i in range(count)]


def training_curves(history, path: str | os.PathLike, dpi: int = 100,
                    figsize: tuple[float, float] | None = None) -> str:
    """Save one panel per logged term of a Keras History (or its .history dict) against the
    epoch, with the validation curve (val_<term>) drawn over the training one."""
    from matplotlib.ticker import MaxNLocator

    logs = _history_logs(history)
    terms = list(dict.fromkeys(k.removeprefix("val_") for k in logs))
    terms.sort(key=lambda term: term != "loss")  # the total first, the rest as logged
    columns = min(3, len(terms))
    rows = math.ceil(len(terms) / columns)
    figure = _figure(figsize or (4.0 * columns, 3.0 * rows))
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, term in zip(axes, terms, strict=False):
        for key, name in ((term, "training"), (f"val_{term}", "validation")):
            if key in logs:
                epochs = np.arange(1, len(logs[key]) + 1)
                ax.plot(epochs, logs[key], marker="o", markersize=3, label=name)
        ax.set_title(term, fontsize=9)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=7)
    for ax in axes[len(terms):]:
        ax.axis("off")
    figure.tight_layout()
    return _save(figure, path, dpi)


def _history_logs(history) -> dict[str, np.ndarray]:
    """The per-epoch logs of a History or of its .history dict, as 1-D float arrays."""
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        raise ValueError("history must be a keras History (what fit returns) or its .history "
                         f"dict of per-epoch values; got {type(history).__name__}.")
    arrays = {}
    for key, values in logs.items():
        array = np.asarray(to_numpy(values), dtype="float64").reshape(-1)
        if array.size:
            arrays[str(key)] = array
    if not arrays:
        raise ValueError("history has no recorded epochs; got "
                         f"{sorted(logs) if logs else 'an empty dict'}.")
    return arrays
