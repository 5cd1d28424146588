"""Interleaved repeats and robust summaries: this machine is noisy, so the cases being compared
run round-robin in one process (each round in a rotated order, so drift and warm caches hit
every case alike) and we report medians with quartiles, never a single run or a mean."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

MARKER = "BENCH_JSON:"


@dataclass
class Stats:
    """Median, quartiles and range of repeated measurements."""

    median: float
    q1: float
    q3: float
    min: float
    max: float
    n: int

    def as_dict(self) -> dict:
        return asdict(self)


def summarize(values: list[float]) -> Stats:
    """Stats of `values` (quartiles interpolated linearly; one value: that value)."""
    values = sorted(float(v) for v in values)
    if not values:
        raise ValueError("no measurements to summarize")
    if len(values) == 1:
        q1 = q3 = values[0]
    else:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return Stats(statistics.median(values), q1, q3, values[0], values[-1], len(values))


def interleave(cases: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each case, `repeats` rounds, each round in a rotated order."""
    names = list(cases)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            cases[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def rates(seconds: list[float], work: float) -> list[float]:
    """Work per second (samples/s, examples/s) of each repeat."""
    return [work / s for s in seconds]


def paired_ratios(a: list[float], b: list[float]) -> list[float]:
    """a_i / b_i per round: the two were measured back to back, so drift mostly cancels."""
    return [x / y for x, y in zip(a, b, strict=True)]


def emit(result: dict) -> None:
    """Print the worker's result on one marked line, for `run.py` to pick out of stdout."""
    sys.stdout.write(MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()


def parse(stdout: str) -> dict:
    """The result a worker `emit`ted (the last marked line)."""
    lines = [line for line in stdout.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise RuntimeError("the worker printed no result")
    return json.loads(lines[-1][len(MARKER) :])


def rss_mib() -> float:
    """Current resident set size in MiB (Linux /proc), 0 where unavailable."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return 0.0
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (getrusage's maxrss is KiB on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
