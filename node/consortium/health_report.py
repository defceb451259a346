"""The node's health report to the coordinator, and the loop ``serve`` runs to send it.

A health report carries what the egress gate's ``health`` kind allows and
nothing else: the software, Flower and Python versions, the node's database
schema revision, its uptime in seconds, and six store counters (studies,
series, instances, annotations, tasks done and open) — no name, no
identifier, nothing about a patient. :func:`send_health_report` builds it,
releases it through the :class:`~node.egress.EgressGate` (kind ``health``:
checked and ledgered) and posts the gate's very bytes to
``POST /api/v1/site/health`` over mutual TLS.

:class:`HealthReportLoop` sends one shortly after ``serve`` starts, on a
thread of its own (a slow or unreachable coordinator never delays startup),
then every ``interval_s``; errors are logged and retried with the guideline
sync's backoff (:func:`~node.consortium.sync_loop.next_delay`).
"""

from __future__ import annotations

import logging
import platform
import threading
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from node.annotate.records import TaskStatus
from node.consortium.enrollment import coordinator_json
from node.consortium.errors import CoordinatorRefusedError
from node.consortium.membership import MembershipFiles, consortium_dir
from node.consortium.site_client import site_client
from node.consortium.sync_loop import next_delay
from node.egress import EgressGate, MessageKind
from node.errors import NodeError
from node.store.annotation_tables import AnnotationRow, TaskRow
from node.store.schema import InstanceRow, SeriesRow, StudyRow

__all__ = [
    "HEALTH_PATH",
    "HealthReportLoop",
    "health_payload",
    "health_reporter_for",
    "send_health_report",
]

HEALTH_PATH = "/api/v1/site/health"

_log = logging.getLogger(__name__)


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _counters(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:

        def count(statement: Any) -> int:
            return int(connection.execute(statement).scalar_one())

        done = count(
            select(func.count()).select_from(TaskRow).where(TaskRow.status == TaskStatus.CONSENSUS)
        )
        return {
            "studies": count(select(func.count()).select_from(StudyRow)),
            "series": count(select(func.count()).select_from(SeriesRow)),
            "instances": count(select(func.count()).select_from(InstanceRow)),
            "annotations": count(select(func.count()).select_from(AnnotationRow)),
            "tasks_done": done,
            "tasks_open": count(select(func.count()).select_from(TaskRow)) - done,
        }


def _schema_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None
    return str(revision) if revision is not None else None


def health_payload(engine: Engine, *, uptime_s: float) -> dict[str, Any]:
    """The report: versions, schema revision, uptime and store counters (the ``health`` kind)."""
    payload: dict[str, Any] = {
        "software_version": _version("harmonia") or "0.0.0",
        "python_version": platform.python_version(),
        "uptime_s": max(int(uptime_s), 0),
        "counters": _counters(engine),
    }
    flwr = _version("flwr")
    if flwr is not None:
        payload["flwr_version"] = flwr
    revision = _schema_revision(engine)
    if revision is not None and len(revision) == 4 and revision.isdigit():
        payload["schema_revision"] = revision
    return payload


def send_health_report(
    files: MembershipFiles,
    engine: Engine,
    *,
    ledger_key: bytes,
    uptime_s: float,
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """Release the node's health report through the egress gate and post it (mutual TLS).

    Returns the coordinator's answer. Raises the gate's
    :class:`~node.errors.EgressError` (nothing sent) or
    :class:`~node.consortium.CoordinatorRefusedError`.
    """
    membership = files.membership()
    gate = EgressGate(engine, site=membership.site, ledger_key=ledger_key)
    destination = f"{membership.coordinator_url.rstrip('/')}{HEALTH_PATH}"
    body = gate.release(
        MessageKind.HEALTH.value, health_payload(engine, uptime_s=uptime_s), destination
    )
    http = client if client is not None else site_client(files)
    url = f"{http.base_url}{HEALTH_PATH}"
    try:
        response = http.post(
            HEALTH_PATH, content=body, headers={"Content-Type": "application/json"}
        )
    except httpx.HTTPError as exc:
        raise CoordinatorRefusedError(
            f"cannot reach the coordinator's site API at {url}: {exc}", source=url
        ) from exc
    finally:
        if client is None:
            http.close()
    return coordinator_json(response, url)


class HealthReportLoop:
    """Send health reports periodically: the first ``first_s`` after start, then every interval.

    Parameters
    ----------
    send
        One report (``lambda: send_health_report(...)``).
    interval_s
        Seconds between reports when all is well.
    first_s
        Seconds from :meth:`start` to the first report.
    retry_s
        The first backoff after an error; it doubles up to ``interval_s``.
    """

    def __init__(
        self,
        send: Callable[[], dict[str, Any]],
        *,
        interval_s: float,
        first_s: float = 5.0,
        retry_s: float = 30.0,
    ) -> None:
        self._send = send
        self.interval_s = interval_s
        self.first_s = first_s
        self.retry_s = min(retry_s, interval_s)
        self.failures = 0
        self.sent = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> str | None:
        """Send one report; None when it was stored, else the error. Never raises."""
        try:
            self._send()
        except NodeError as exc:  # the coordinator refused or unreachable, the gate refused
            self.failures += 1
            _log.warning(
                "health report failed (%d in a row; next try in %.0f s): %s",
                self.failures,
                self.delay(),
                exc,
            )
            return str(exc)
        except Exception as exc:  # a bug must not end the loop; it is logged with its traceback
            self.failures += 1
            _log.exception("health report failed unexpectedly")
            return f"{type(exc).__name__}: {exc}"
        self.failures = 0
        self.sent += 1
        return None

    def delay(self) -> float:
        """Seconds until the next report."""
        return next_delay(self.failures, interval_s=self.interval_s, retry_s=self.retry_s)

    def start(self) -> None:
        """Send reports on a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="health-report", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30) -> None:
        """Ask the loop to end and wait for the report in progress (at most ``timeout_s``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        if self._stop.wait(self.first_s):
            return
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.delay())


def health_reporter_for(
    data_dir: Path, engine: Engine, *, ledger_key: bytes, interval_s: float, first_s: float = 5.0
) -> HealthReportLoop | None:
    """The loop of an enrolled node (None when it is not enrolled: no one to report to)."""
    files = MembershipFiles(consortium_dir(data_dir))
    if not files.exists():
        return None
    started = time.monotonic()
    return HealthReportLoop(
        lambda: send_health_report(
            files, engine, ledger_key=ledger_key, uptime_s=time.monotonic() - started
        ),
        interval_s=interval_s,
        first_s=first_s,
    )
