"""The periodic guideline sync that ``harmonia-node serve`` runs while the node is enrolled.

:class:`GuidelineSyncLoop` calls :func:`~node.consortium.sync_guidelines` on a
thread of its own, first right after start (so a slow or unreachable
coordinator never delays the node's startup), then every ``interval_s``.
A release that fails verification is refused (nothing of it loads) and raised
as an alert for the node's administrators (:class:`~node.alerts.AlertStore`),
once per problem; an unreachable or refusing coordinator is logged and retried
with exponential backoff, from ``retry_s`` up to ``interval_s``
(:class:`~node.consortium.periodic.Periodic` schedules it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from node.alerts import AlertKind, AlertStore
from node.consortium.guideline_sync import GuidelineLoader, SyncReport, sync_guidelines
from node.consortium.membership import MembershipFiles, consortium_dir
from node.consortium.periodic import Periodic, next_delay
from node.errors import NodeError

__all__ = ["GuidelineSyncLoop", "SyncOutcome", "guideline_sync_for", "next_delay"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncOutcome:
    """What one pass of the loop did: its report, or the error that stopped it."""

    report: SyncReport | None
    error: str | None = None


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
        self.last: SyncOutcome | None = None
        self.schedule = Periodic(
            "guideline-sync", self._pass, interval_s=interval_s, retry_s=retry_s
        )

    @property
    def failures(self) -> int:
        """Failed passes in a row."""
        return self.schedule.failures

    def delay(self) -> float:
        """Seconds until the next pass."""
        return self.schedule.delay()

    def run_once(self) -> SyncOutcome:
        """One pass: sync, raise alerts for refusals, count failures. Never raises."""
        self.last = SyncOutcome(None, "the pass raised (see the log)")
        self.schedule.run_once()
        return self.last

    def start(self) -> None:
        """Run passes on a daemon thread, the first at once, until :meth:`stop`."""
        self.schedule.start()

    def stop(self, timeout_s: float = 30) -> None:
        """Ask the loop to end and wait for the pass in progress (at most ``timeout_s``)."""
        self.schedule.stop(timeout_s)

    def _pass(self) -> bool:
        try:
            report = self._sync()
        except NodeError as exc:  # the coordinator unreachable or refusing is expected
            _log.warning(
                "guideline sync failed (%d in a row before this one): %s", self.failures, exc
            )
            self.last = SyncOutcome(None, str(exc))
            return False
        except Exception as exc:
            self.last = SyncOutcome(None, f"{type(exc).__name__}: {exc}")
            raise
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
        self.last = SyncOutcome(report)
        return True


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
