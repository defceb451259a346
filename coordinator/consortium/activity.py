"""What the coordinator learns about a site from its calls: last seen, software version, health.

Three sources, nothing invented:

* every site-API call (mutual TLS, a certificate the coordinator issued) marks
  the site *seen* — written at most once per ``touch_every`` per site, so a
  hundred polling nodes do not turn every read into a write;
* enrollment may carry the node's ``software_version``;
* a node may post a **health report** (the node's ``health`` egress kind:
  ``software_version`` and optionally ``flwr_version``, ``python_version``,
  ``schema_revision``, ``uptime_s`` and a few counters). :class:`HealthReport`
  checks it against the same schema the node's egress gate applies.

A site that never reported a version shows ``None``: the dashboard says
"unknown" rather than guessing.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coordinator.errors import NotFoundError
from coordinator.store.dashboard_tables import SiteActivityRow
from coordinator.store.tables import SiteRow
from shared.errors import InvalidInputError

__all__ = ["HEALTH_COUNTERS", "HealthReport", "SiteActivity", "SiteActivityInfo"]

HEALTH_COUNTERS = ("annotations", "instances", "series", "studies", "tasks_done", "tasks_open")
"""Counters a health report may carry (the node's egress ``health`` kind allows these)."""

_VERSION = re.compile(r"^[0-9]+(\.[0-9]+){0,3}([.+-][A-Za-z0-9.]{1,32})?$")
_REVISION = re.compile(r"^[0-9]{4}$")
_OPTIONAL = frozenset({"schema_revision", "flwr_version", "python_version", "uptime_s", "counters"})


def _version(value: object, where: str) -> str:
    if not isinstance(value, str) or not _VERSION.match(value):
        raise InvalidInputError(f"health report: {where} must be a version number like 0.1.0")
    return value


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"health report: {where} must be a non-negative integer")
    return value


@dataclass(frozen=True)
class HealthReport:
    """A node's health report: versions and a few counters, nothing about patients."""

    software_version: str
    flwr_version: str | None = None
    python_version: str | None = None
    schema_revision: str | None = None
    uptime_s: int | None = None
    counters: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, payload: object) -> HealthReport:
        """Check ``payload`` against the ``health`` kind's schema.

        Raises
        ------
        InvalidInputError
            A missing ``software_version``, an unknown key, or a malformed value.
        """
        if not isinstance(payload, Mapping):
            raise InvalidInputError("health report: the body must be a JSON object")
        unknown = sorted(set(payload) - _OPTIONAL - {"software_version"})
        if unknown:
            raise InvalidInputError(
                f"health report: unknown key(s) {', '.join(unknown)}; allowed: software_version, "
                + ", ".join(sorted(_OPTIONAL))
            )
        if "software_version" not in payload:
            raise InvalidInputError("health report: software_version is required")
        revision = payload.get("schema_revision")
        if revision is not None and not (isinstance(revision, str) and _REVISION.match(revision)):
            raise InvalidInputError("health report: schema_revision must be 4 digits, e.g. 0003")
        counters = payload.get("counters", {})
        if not isinstance(counters, Mapping):
            raise InvalidInputError("health report: counters must be an object")
        extra = sorted(set(counters) - set(HEALTH_COUNTERS))
        if extra:
            raise InvalidInputError(
                f"health report: unknown counter(s) {', '.join(extra)}; allowed: "
                + ", ".join(HEALTH_COUNTERS)
            )
        optional = {
            key: _version(payload[key], key)
            for key in ("flwr_version", "python_version")
            if payload.get(key) is not None
        }
        uptime = payload.get("uptime_s")
        return cls(
            software_version=_version(payload["software_version"], "software_version"),
            schema_revision=revision,
            uptime_s=None if uptime is None else _count(uptime, "uptime_s"),
            counters={k: _count(v, f"counters.{k}") for k, v in sorted(counters.items())},
            **optional,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form (keys left out when unknown)."""
        data: dict[str, Any] = {"software_version": self.software_version}
        for key in ("flwr_version", "python_version", "schema_revision", "uptime_s"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.counters:
            data["counters"] = dict(self.counters)
        return data


@dataclass(frozen=True)
class SiteActivityInfo:
    """What a site's calls told the coordinator (``None``: never told)."""

    site: str
    last_seen_at: datetime | None
    software_version: str | None
    version_source: str | None
    reported_at: datetime | None
    health: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "last_seen_at": self.last_seen_at.isoformat() if self.last_seen_at else None,
            "software_version": self.software_version,
            "version_source": self.version_source,
            "health_reported_at": self.reported_at.isoformat() if self.reported_at else None,
            "health": self.health,
        }


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class SiteActivity:
    """Records and reads what sites' calls tell the coordinator.

    Parameters
    ----------
    engine
        The coordinator's database.
    touch_every
        ``last_seen_at`` is written at most this often per site.
    clock
        Returns the current time (timezone-aware).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        touch_every: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.touch_every = touch_every
        self._clock = clock
        self._touched: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def _row(self, session: Session, site: str) -> SiteActivityRow:
        site_id = session.execute(select(SiteRow.id).where(SiteRow.name == site)).scalar()
        if site_id is None:
            raise NotFoundError(f"no site {site!r}; 'site list' shows the registered sites")
        row = session.get(SiteActivityRow, site_id)
        if row is None:
            row = SiteActivityRow(site_id=site_id)
            session.add(row)
        return row

    def seen(self, site: str) -> bool:
        """Mark ``site`` seen now; whether this call wrote (throttled per ``touch_every``)."""
        now = self._clock()
        with self._lock:
            last = self._touched.get(site)
            if last is not None and now - last < self.touch_every:
                return False
            self._touched[site] = now
        self._write(site, lambda row: setattr(row, "last_seen_at", now))
        return True

    def _write(self, site: str, change: Callable[[SiteActivityRow], None]) -> None:
        for attempt in (1, 2):  # two first calls of a site may race to create its row
            try:
                with Session(self.engine) as session, session.begin():
                    change(self._row(session, site))
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    def enrolled(self, site: str, software_version: str | None) -> None:
        """Record an enrollment (seen now, with the version the node sent if any)."""
        now = self._clock()

        def change(row: SiteActivityRow) -> None:
            row.last_seen_at = now
            if software_version:
                row.software_version = software_version[:64]
                row.version_source = "enrollment"

        self._write(site, change)
        with self._lock:
            self._touched[site] = now

    def report(self, site: str, health: HealthReport) -> SiteActivityInfo:
        """Store a site's health report (it also marks the site seen)."""
        now = self._clock()

        def change(row: SiteActivityRow) -> None:
            row.last_seen_at = now
            row.software_version = health.software_version
            row.version_source = "health"
            row.reported_at = now
            row.health = json.dumps(health.to_json(), sort_keys=True)

        self._write(site, change)
        with self._lock:
            self._touched[site] = now
        return self.get(site)

    def get(self, site: str) -> SiteActivityInfo:
        """What is known about ``site`` (fields ``None`` when never reported)."""
        return self.all().get(site) or SiteActivityInfo(site, None, None, None, None, None)

    def all(self) -> dict[str, SiteActivityInfo]:
        """Site name → what its calls told the coordinator (sites that never called: absent)."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(SiteRow.name, SiteActivityRow).join(
                    SiteActivityRow, SiteActivityRow.site_id == SiteRow.id
                )
            ).all()
            return {
                name: SiteActivityInfo(
                    name,
                    _aware(row.last_seen_at),
                    row.software_version,
                    row.version_source,
                    _aware(row.reported_at),
                    json.loads(row.health) if row.health else None,
                )
                for name, row in rows
            }
