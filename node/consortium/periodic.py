"""A background task that runs on a schedule and backs off after errors.

:class:`Periodic` runs a step on a daemon thread of its own: first ``first_s``
after :meth:`~Periodic.start` (so it never delays the caller), then every
``interval_s``; after ``n`` failures in a row it waits ``retry_s * 2**(n-1)``
instead, up to ``interval_s`` (:func:`next_delay`). The step reports success
or failure and logs its own errors; one that raises is logged, counted as a
failure, and the loop goes on. ``serve``'s periodic work (the guideline sync)
is built on it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["Periodic", "next_delay"]

_log = logging.getLogger(__name__)


def next_delay(failures: int, *, interval_s: float, retry_s: float) -> float:
    """Seconds until the next run: the interval, or a backoff after ``failures`` errors."""
    if failures <= 0:
        return interval_s
    return min(interval_s, retry_s * 2.0 ** (failures - 1))


class Periodic:
    """Run ``step`` periodically on a daemon thread until :meth:`stop`.

    Parameters
    ----------
    name
        The thread's name (and the log's, for a step that raises).
    step
        One run; returns True when it succeeded.
    interval_s
        Seconds between runs when all is well.
    retry_s
        The first backoff after a failure; it doubles up to ``interval_s``.
    first_s
        Seconds from :meth:`start` to the first run.
    """

    def __init__(
        self,
        name: str,
        step: Callable[[], bool],
        *,
        interval_s: float,
        retry_s: float = 30.0,
        first_s: float = 0.0,
    ) -> None:
        self.name = name
        self._step = step
        self.interval_s = interval_s
        self.retry_s = min(retry_s, interval_s)
        self.first_s = first_s
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        """One run; counts failures (a step that raises is one). Never raises."""
        try:
            ok = self._step()
        except Exception:  # a bug must not end the loop; it is logged with its traceback
            _log.exception("%s failed unexpectedly", self.name)
            ok = False
        self.failures = 0 if ok else self.failures + 1
        return ok

    def delay(self) -> float:
        """Seconds until the next run."""
        return next_delay(self.failures, interval_s=self.interval_s, retry_s=self.retry_s)

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30) -> None:
        """Ask the loop to end and wait for the run in progress (at most ``timeout_s``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        if self._stop.wait(self.first_s):
            return
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.delay())
