"""The node's alerts in its database: raise (or count up), list, dismiss."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, insert, select, update

from node.errors import NotFoundError
from node.store.alert_tables import AlertRow

__all__ = ["Alert", "AlertKind", "AlertStore"]

_alerts = cast(Table, AlertRow.__table__)


class AlertKind(enum.StrEnum):
    """What an alert is about."""

    GUIDELINE_RELEASE_REFUSED = "guideline_release_refused"


@dataclass(frozen=True)
class Alert:
    """One alert as stored."""

    id: int
    kind: str
    subject: str
    message: str
    first_seen_at: datetime
    last_seen_at: datetime
    occurrences: int
    dismissed_at: datetime | None
    dismissed_by: str | None

    @property
    def open(self) -> bool:
        """Not dismissed yet."""
        return self.dismissed_at is None

    def to_json(self) -> dict[str, Any]:
        """JSON form (the API's)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "message": self.message,
            "first_seen_at": self.first_seen_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "occurrences": self.occurrences,
            "open": self.open,
            "dismissed_at": self.dismissed_at.isoformat() if self.dismissed_at else None,
            "dismissed_by": self.dismissed_by,
        }

    @classmethod
    def from_row(cls, row: Any) -> Alert:
        """Load an alert from a ``node_alerts`` row (SQLite drops the time zone: UTC)."""
        values = {name: getattr(row, name) for name in cls.__dataclass_fields__}
        for name in ("first_seen_at", "last_seen_at", "dismissed_at"):
            when = values[name]
            if when is not None and when.tzinfo is None:
                values[name] = when.replace(tzinfo=UTC)
        return cls(**values)


class AlertStore:
    """Raise, list and dismiss the node's alerts.

    Parameters
    ----------
    engine
        The node's database.
    clock
        Returns the current time (timezone-aware).
    """

    def __init__(
        self, engine: Engine, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.engine = engine
        self._clock = clock

    def raise_alert(self, kind: AlertKind, subject: str, message: str) -> Alert:
        """Record a problem; the same problem again counts up on its alert (dismissed or not)."""
        now = self._clock()
        subject, message = subject[:256], message[:4000]
        with self.engine.begin() as connection:
            row = connection.execute(
                select(_alerts)
                .where(
                    _alerts.c.kind == str(kind),
                    _alerts.c.subject == subject,
                    _alerts.c.message == message,
                )
                .order_by(_alerts.c.id.desc())
                .limit(1)
            ).one_or_none()
            if row is None:
                new_id = connection.execute(
                    insert(_alerts).values(
                        kind=str(kind),
                        subject=subject,
                        message=message,
                        first_seen_at=now,
                        last_seen_at=now,
                        occurrences=1,
                    )
                ).inserted_primary_key
                assert new_id is not None
                alert_id = int(new_id[0])
            else:
                alert_id = int(row.id)
                connection.execute(
                    update(_alerts)
                    .where(_alerts.c.id == alert_id)
                    .values(last_seen_at=now, occurrences=_alerts.c.occurrences + 1)
                )
            return Alert.from_row(
                connection.execute(select(_alerts).where(_alerts.c.id == alert_id)).one()
            )

    def list(self, *, include_dismissed: bool = False) -> list[Alert]:
        """Alerts, newest first; only open ones unless ``include_dismissed``."""
        query = select(_alerts).order_by(_alerts.c.last_seen_at.desc(), _alerts.c.id.desc())
        if not include_dismissed:
            query = query.where(_alerts.c.dismissed_at.is_(None))
        with self.engine.connect() as connection:
            return [Alert.from_row(row) for row in connection.execute(query)]

    def dismiss(self, alert_id: int, *, by: str) -> Alert:
        """Dismiss an alert (idempotent: a dismissed one keeps its first dismissal).

        Raises
        ------
        NotFoundError
            No alert has that id.
        """
        with self.engine.begin() as connection:
            connection.execute(
                update(_alerts)
                .where(_alerts.c.id == alert_id, _alerts.c.dismissed_at.is_(None))
                .values(dismissed_at=self._clock(), dismissed_by=by[:128])
            )
            row = connection.execute(select(_alerts).where(_alerts.c.id == alert_id)).one_or_none()
        if row is None:
            raise NotFoundError(f"there is no alert {alert_id}; list them with GET /api/alerts")
        return Alert.from_row(row)
