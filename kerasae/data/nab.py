"""The Numenta Anomaly Benchmark (NAB) corpus with its anomaly windows, and sliding windows over a
series with per-window and per-time-step anomaly labels (no Python loops over time steps)."""

from __future__ import annotations

import json
import os
from typing import NamedTuple

import numpy as np

from kerasae._checks import closest
from kerasae.data._files import DataSource, check_array, require_files

NAB = DataSource(
    name="nab",
    title="NAB",
    licence=(
        "Numenta Anomaly Benchmark data corpus and labels: the NAB repository's LICENSE.txt "
        '(MIT-style, "Copyright 2014-2024 Numenta Inc.", "Permission is hereby granted, free of '
        'charge ..."). Cite Lavin & Ahmad 2015 and Ahmad et al. 2017.'
    ),
    citation="Lavin & Ahmad 2015; Ahmad, Lavin, Purdy & Agha 2017",
    sha256={
        "nab_series.npz": "e9c59b2301a07e6d20b4dec1f09085616d4066b74671abcebbcff9c851be00cc",
        "combined_windows.json": "1e1fbc4601321aad8d0f8b3784c8134299379f68f6c1f7777565f8ffd57ab6b1",
        "combined_labels.json": "98724014c162fcfd4be605683517f194051a54e98756c53667bd33ddbc644d9b",
        "combined_windows_tiny.json": (
            "bc7fecdd0d46f56ca046c66dae37145dde1c5603ed0ccc6a2a996a4d3793725d"
        ),
    },
)


class NabSeries(NamedTuple):
    """One NAB series: timestamps (int64 seconds since 1970, UTC), values (float32), and the
    anomaly windows as a list of inclusive (start, end) timestamps from combined_windows.json."""

    timestamps: np.ndarray
    values: np.ndarray
    windows: list[tuple[int, int]]


def load_nab(
    directory: str | os.PathLike | None = None,
    name: str | None = None,
    *,
    verify: bool = True,
) -> dict[str, NabSeries]:
    """The NAB series with their anomaly windows, keyed like NAB's label files
    ("realKnownCause/nyc_taxi.csv"); `name` picks one series (the dict then has one entry).

    The folder (argument, else $KERASAE_NAB_DIR, else $KERASAE_DATA_DIR/nab) holds
    `nab_series.npz`, with keys `<group>__<name>__timestamp` (int64 seconds) and
    `<group>__<name>__value` for each CSV `<group>/<name>.csv`, and NAB's `combined_windows.json`.
    """
    npz_path, windows_path = require_files(
        NAB, directory, ["nab_series.npz", "combined_windows.json"], verify=verify
    )
    with open(windows_path, encoding="utf-8") as stream:
        all_windows = json.load(stream)
    series = {}
    with np.load(npz_path, allow_pickle=False) as arrays:
        names = sorted(
            k[: -len("__timestamp")].replace("__", "/", 1) + ".csv"
            for k in arrays.files
            if k.endswith("__timestamp")
        )
        if name is not None:
            if name not in names:
                raise KeyError(f"NAB has no series {name!r}.{closest(name, names)}")
            names = [name]
        for key in names:
            stem = key[: -len(".csv")].replace("/", "__", 1)
            if f"{stem}__value" not in arrays.files:
                raise ValueError(f"{npz_path}: {stem}__timestamp has no {stem}__value beside it.")
            t = check_array(
                arrays[f"{stem}__timestamp"], f"{key} timestamps", shape=(None,), dtype="i"
            )
            v = check_array(arrays[f"{stem}__value"], f"{key} values", shape=t.shape, dtype="f")
            windows = [(_seconds(a), _seconds(b)) for a, b in all_windows.get(key, [])]
            series[key] = NabSeries(t.astype(np.int64), v.astype(np.float32), windows)
    return series


def _seconds(stamp: str) -> int:
    """NAB's "2014-04-10 07:15:00.000000" (no time zone, read as UTC) -> seconds since 1970."""
    return int(np.datetime64(stamp.replace(" ", "T"), "s").astype(np.int64))


def sliding_windows(values: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """Windows of `window` consecutive steps every `stride` steps: (T,) -> (N, window) and
    (T, F) -> (N, window, F), N = (T - window) // stride + 1. A read-only view built with numpy
    stride tricks (no copy, no loop); call np.array(...) on it if you need to write."""
    values = np.asarray(values)
    if values.ndim not in (1, 2):
        raise ValueError(f"sliding_windows expects (T,) or (T, F) values; got {values.shape}.")
    if int(window) != window or window < 1 or int(stride) != stride or stride < 1:
        raise ValueError(f"window and stride must be positive ints; got {window}, {stride}.")
    if window > len(values):
        raise ValueError(f"window {window} is longer than the series ({len(values)} steps).")
    view = np.lib.stride_tricks.sliding_window_view(values, int(window), axis=0)[:: int(stride)]
    return view if values.ndim == 1 else np.moveaxis(view, -1, 1)


def point_labels(timestamps: np.ndarray, windows) -> np.ndarray:
    """Per-time-step labels: 1 where the timestamp lies in an anomaly window (inclusive ends),
    else 0; int64 (T,)."""
    timestamps = np.asarray(timestamps)
    bounds = np.asarray(list(windows), dtype=timestamps.dtype).reshape(-1, 2)
    if len(bounds) == 0:
        return np.zeros(len(timestamps), np.int64)
    if np.any(bounds[:, 0] > bounds[:, 1]):
        raise ValueError("each anomaly window must be (start, end) with start <= end.")
    inside = (timestamps[:, None] >= bounds[None, :, 0]) & (
        timestamps[:, None] <= bounds[None, :, 1]
    )
    return np.asarray(inside.any(axis=1), dtype=np.int64)


def window_labels(timestamps: np.ndarray, windows, window: int, stride: int = 1) -> np.ndarray:
    """Labels of the windows `sliding_windows(values, window, stride)` makes: 1 when any time step
    of the window lies in an anomaly window, else 0; int64 (N,)."""
    points = point_labels(timestamps, windows)
    if window > len(points) or window < 1 or stride < 1:
        raise ValueError(f"bad window {window} / stride {stride} for {len(points)} time steps.")
    counts = np.concatenate([[0], np.cumsum(points)])
    starts = np.arange(0, len(points) - window + 1, stride)
    return (counts[starts + window] - counts[starts] > 0).astype(np.int64)
