"""Ingest with a deadline, so a DIMSE peer always hears an answer in time.

A C-STORE SCP must answer each request before the sender's DIMSE timeout
(often 30 s) and before its own association's network timeout: pynetdicom
restarts that idle timer only when data arrives, so time spent in the
EVT_C_STORE handler counts against it, and a handler still busy when it
expires (60 s by default) gets the association aborted, its answer lost. An
ingest can legitimately wait that long: for the database's write lock, which
another writer may hold up to the busy timeout, or behind other work on an
overloaded machine.

:class:`IngestDeadline` runs each ingest on its own bounded thread pool and
waits for it at most ``timeout_s``. Past that, the caller gets a rejection
with 0xA700 (out of resources: the node is busy, send it again) and the ingest
finishes in the background: an instance is stored whole or not at all, and a
copy that lands meanwhile makes the sender's retry a duplicate (Success). Its
eventual outcome is logged, so the log says why the node was slow.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass
from typing import TYPE_CHECKING

from node.dicom.outcome import IngestOutcome, IngestStatus
from node.errors import FAILURE_OUT_OF_RESOURCES

if TYPE_CHECKING:
    from node.dicom.ingest import IngestService

__all__ = ["IngestDeadline", "late_outcome"]

_log = logging.getLogger(__name__)


def late_outcome(timeout_s: float, *, queued: bool) -> IngestOutcome:
    """The rejection a sender gets when its instance is not stored within ``timeout_s``.

    ``queued`` says the ingest never started (every slot stayed busy) rather
    than started and did not finish.
    """
    what = "no free ingest slot within" if queued else "still being stored after"
    return IngestOutcome(
        IngestStatus.REJECTED,
        failure_reason=FAILURE_OUT_OF_RESOURCES,
        message=f"node busy: {what} {timeout_s:g} s; send it again",
    )


_STOPPING = IngestOutcome(
    IngestStatus.REJECTED,
    failure_reason=FAILURE_OUT_OF_RESOURCES,
    message="the node is stopping its DICOM service; send it again",
)


@dataclass(frozen=True)
class _Pending:
    """One ingest whose caller stopped waiting: what it was and when it began."""

    label: str
    source: str
    started: float


class IngestDeadline:
    """Calls :meth:`IngestService.ingest_bytes` with a deadline; thread-safe.

    Parameters
    ----------
    ingest
        Does the work.
    timeout_s
        Longest a caller waits for its outcome, counted from the call (a wait
        for a free slot included).
    max_in_flight
        Ingests running at once, abandoned ones included; a caller that finds
        every slot busy until its deadline is refused without starting.
    """

    def __init__(self, ingest: IngestService, *, timeout_s: float, max_in_flight: int) -> None:
        if timeout_s <= 0:
            raise ValueError("an ingest deadline must be positive")
        if max_in_flight < 1:
            raise ValueError("an ingest deadline needs at least one slot")
        self._ingest = ingest
        self.timeout_s = timeout_s
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._pool = ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="ingest")
        self._lock = threading.Lock()
        self._closed = False

    def ingest_bytes(self, data: bytes, *, source: str, label: str) -> IngestOutcome:
        """Ingest ``data`` or, past the deadline, answer "node busy" (0xA700).

        ``label`` names the instance in the log (its SOP Instance UID as sent).
        """
        started = time.monotonic()
        if not self._slots.acquire(timeout=self.timeout_s):
            _log.warning(
                "ingest of %s from %s refused after %g s: all ingest slots stayed busy "
                "(earlier instances still being stored); the sender is told to retry (0xA700)",
                label,
                source,
                self.timeout_s,
            )
            return late_outcome(self.timeout_s, queued=True)
        try:
            with self._lock:
                future = None if self._closed else self._pool.submit(self._run, data, source)
        except BaseException:
            self._slots.release()
            raise
        if future is None:
            self._slots.release()
            return _STOPPING
        remaining = max(0.0, self.timeout_s - (time.monotonic() - started))
        try:
            return future.result(timeout=remaining)
        except FutureTimeoutError:
            pending = _Pending(label, source, started)
            future.add_done_callback(lambda done: _log_late(pending, done))
            _log.warning(
                "ingest of %s from %s not finished after %g s (waiting for the database's "
                "write lock or an overloaded machine); the sender is told to retry (0xA700), "
                "the ingest goes on and its outcome is logged",
                label,
                source,
                self.timeout_s,
            )
            return late_outcome(self.timeout_s, queued=False)

    def _run(self, data: bytes, source: str) -> IngestOutcome:
        try:
            return self._ingest.ingest_bytes(data, source=source)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Refuse new ingests and wait for those still running (each ends stored or not at all).

        Idempotent.
        """
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True)


def _log_late(pending: _Pending, done: Future[IngestOutcome]) -> None:
    took = time.monotonic() - pending.started
    error = done.exception()
    if error is not None:
        _log.error(
            "late ingest of %s from %s failed after %.1f s: %s",
            pending.label,
            pending.source,
            took,
            error,
        )
        return
    outcome = done.result()
    _log.warning(
        "late ingest of %s from %s ended after %.1f s: %s%s",
        pending.label,
        pending.source,
        took,
        outcome.status.value,
        f" ({outcome.message})" if outcome.message else "",
    )
