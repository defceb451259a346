"""The periodic guideline sync that ``harmonia-node serve`` runs while the node is enrolled.

:class:`GuidelineSyncLoop` calls :func:`~node.consortium.sync_guidelines` on a
thread of its own, first right after start (so a slow or unreachable
coordinator never delays the node's startup), then every ``interval_s``.
A release that fails verification is refused (nothing of it loads) and raised
as an alert for the node's administrators (:class:`~node.alerts.AlertStore`),
once per problem; an unreachable or refusing coordinator is logged and retried
with exponential backoff, from ``retry_s`` up to ``interval_s``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from node.alerts import AlertKind, AlertStore
from node.consortium.errors import ConsortiumError
from node.consortium.guideline_sync import GuidelineLoader, SyncReport, sync_guidelines
from node.consortium.membership import MembershipFiles, consortium_dir

__all__ = ["GuidelineSyncLoop", "SyncOutcome", "guideline_sync_for", "next_delay"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncOutcome:
    """What one pass of the loop did: its report, or the error that stopped it."""

    report: SyncReport | None
    error: str | None = None


def next_delay(failures: int, *, interval_s: float, retry_s: float) -> float:
    """Seconds until the next pass: the interval, or a backoff after ``failures`` errors."""
    if failures <= 0:
        return interval_s
    return min(interval_s, retry_s * 2.0 ** (failures - 1))


class GuidelineSyncLoop:
    """Sync signed guideline releases periodically; raise an alert for each refused one.

    Parameters
    ----------
    sync
        One sync (``lambda: sync_guidelines(files, registry)``).
    alerts
        Where refused releases are raised.
    interval_s
        Seconds between passes when all is well.
    retry_s
        The first backoff after an error; it doubles up to ``interval_s``.
    """

    def __init__(
        self,
        sync: Callable[[], SyncReport],
        alerts: AlertStore,
        *,
        interval_s: float,
        retry_s: float = 30.0,
    ) -> None:
        self._sync = sync
        self._alerts = alerts
        self.interval_s = interval_s
        self.retry_s = min(retry_s, interval_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0

    def run_once(self) -> SyncOutcome:
        """One pass: sync, raise alerts for refusals, count failures. Never raises."""
        try:
            report = self._sync()
        except ConsortiumError as exc:
            self.failures += 1
            _log.warning(
                "guideline sync failed (%d in a row; next try in %.0f s): %s",
                self.failures,
                self.delay(),
                exc,
            )
            return SyncOutcome(None, str(exc))
        except Exception as exc:  # a bug must not end the loop; it is logged with its traceback
            self.failures += 1
            _log.exception("guideline sync failed unexpectedly")
            return SyncOutcome(None, f"{type(exc).__name__}: {exc}")
        self.failures = 0
        for key in report.loaded:
            _log.info("guideline sync loaded %s", key)
        for refusal in report.refused:
            _log.error("guideline sync: %s", refusal)
            try:
                self._alerts.raise_alert(
                    AlertKind.GUIDELINE_RELEASE_REFUSED,
                    f"{refusal.name}@{refusal.version}",
                    f"{refusal} Nothing of this release was loaded; tell the consortium "
                    "coordinator, who must publish it again, signed.",
                )
            except Exception:
                _log.exception("could not record the alert for a refused guideline release")
        return SyncOutcome(report)

    def delay(self) -> float:
        """Seconds until the next pass."""
        return next_delay(self.failures, interval_s=self.interval_s, retry_s=self.retry_s)

    def start(self) -> None:
        """Run passes on a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="guideline-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30) -> None:
        """Ask the loop to end and wait for the pass in progress (at most ``timeout_s``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.delay())


def guideline_sync_for(
    data_dir: Path, registry: GuidelineLoader, engine: Engine, *, interval_s: float
) -> GuidelineSyncLoop | None:
    """The loop of an enrolled node (None when it is not enrolled: nothing to sync from)."""
    files = MembershipFiles(consortium_dir(data_dir))
    if not files.exists():
        return None
    return GuidelineSyncLoop(
        lambda: sync_guidelines(files, registry), AlertStore(engine), interval_s=interval_s
    )
