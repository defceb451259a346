"""One transaction per user action, with its audit entry inside it.

Every write of the annotation domain runs in :meth:`UnitOfWork.write`: a
session whose transaction commits (durably, with SQLite's WAL and
``synchronous=FULL`` when the node runs with fsync) before the caller returns,
and whose audit entry commits with it or not at all. Writers of one process
queue on a lock rather than racing SQLite's single writer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

__all__ = ["AuditSink", "UnitOfWork"]


class AuditSink(Protocol):
    """What the domain needs of the audit log: append inside an open transaction."""

    def append(
        self,
        connection: Connection,
        *,
        actor: str,
        action: str,
        target_type: str,
        target_id: str,
        detail: Mapping[str, Any] | None = None,
    ) -> object:
        """Write one entry in the caller's transaction."""
        ...


class UnitOfWork:
    """Sessions over the node's engine, and the audit log to write into.

    Parameters
    ----------
    engine
        The migrated node database.
    audit
        The audit log; ``None`` records nothing (tests of the bare domain).
    clock
        Returns the current time (timezone-aware).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        audit: AuditSink | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.audit = audit
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The current time."""
        return self._clock()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads only."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits on leaving, or rolls back on an error."""
        with (
            self._lock,
            Session(self.engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    def record(
        self,
        session: Session,
        *,
        actor: str,
        action: str,
        target_type: str,
        target_id: object,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append an audit entry in ``session``'s open transaction (no-op without a log)."""
        if self.audit is None:
            return
        session.flush()
        self.audit.append(
            session.connection(),
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            detail=detail,
        )
