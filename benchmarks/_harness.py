"""What every benchmark shares: timing, percentiles, peak memory and the final JSON line."""

from __future__ import annotations

import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # benchmarks run as scripts: make tests.support importable
    sys.path.insert(0, str(REPO))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = (len(ordered) - 1) * q / 100
    low, high = int(index), min(int(index) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def peak_rss_mib(pid: int) -> float:
    """Peak resident set size (VmHWM) of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_tree_mib(pid: int) -> float:
    """Peak RSS of a live process plus its live descendants (e.g. worker processes), in MiB.

    Each process's own peak is summed, so this is an upper bound of the
    tree's simultaneous peak.
    """
    import psutil

    total = peak_rss_mib(pid)
    for child in psutil.Process(pid).children(recursive=True):
        try:
            total += peak_rss_mib(child.pid)
        except FileNotFoundError:
            continue
    return total


def cpu_seconds_tree(pid: int) -> float:
    """User + system CPU seconds a live process and its live descendants have used."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for process in (root, *root.children(recursive=True)):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def traced_peak_bytes(function: Callable[[], Any]) -> int:
    """Peak bytes Python and numpy allocated while ``function`` ran (tracemalloc)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - start


def best_seconds(function: Callable[[], Any], repeat: int) -> float:
    """Fastest of ``repeat`` timed calls (the least disturbed by other work on the machine)."""
    times = []
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    start = time.perf_counter()
    elapsed: list[float] = []
    yield lambda: elapsed[0] if elapsed else time.perf_counter() - start
    elapsed.append(time.perf_counter() - start)


def median(values: list[float]) -> float:
    return statistics.median(values)


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    print(f"\n{title}")
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=False)]
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=False)))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)))


def emit(figures: dict[str, Any]) -> None:
    """The last line of every benchmark: one JSON object with its figures and ratios."""
    print(json.dumps(figures, sort_keys=True), flush=True)
