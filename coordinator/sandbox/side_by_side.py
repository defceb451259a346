"""Running one piece of work per site side by side.

The sites of a consortium are independent: each node has its own process,
data directory and readers. :func:`for_each_site` runs a step's per-site work
on one thread per site (the work is mostly waiting on the node's process, or
on a command the sandbox started), waits for all of them, and returns their
results in the sites' order; the first site's error (in that order) is raised
once every thread has ended, so no work is left running behind a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = ["for_each_site"]

Item = TypeVar("Item")
Result = TypeVar("Result")


def for_each_site(items: Sequence[Item], work: Callable[[Item], Result]) -> list[Result]:
    """``[work(item) for item in items]``, one thread per item; errors raised after all end."""
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="sandbox-site") as pool:
        futures = [pool.submit(work, item) for item in items]
        wait(futures)
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    return [future.result() for future in futures]
