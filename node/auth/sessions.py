"""Server-side browser sessions: the cookie holds a random id, the database only its hash.

A session ends at the first of: sign-out, ``idle_timeout`` without a request,
``absolute_timeout`` after sign-in, or the user being disabled or given a new
password. Each session has its own CSRF token, which the browser reads from
``/api/auth/login`` or ``/api/auth/me`` and sends back in ``X-CSRF-Token`` on
every request that changes state (checked in ``node.api.deps``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Engine, Table, delete, insert, select, update

from node.errors import AuthError
from node.store.auth_tables import SessionRow

__all__ = ["NewSession", "SessionInfo", "SessionService"]

_sessions = cast(Table, SessionRow.__table__)
# last_seen_at is written at most this often, so reads do not all become writes.
_TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class SessionInfo:
    """A live session: whose it is, its CSRF token and when it ends."""

    user_id: int
    csrf_token: str
    expires_at: datetime

    def csrf_matches(self, presented: str | None) -> bool:
        """Whether ``presented`` is this session's CSRF token (constant time)."""
        return presented is not None and hmac.compare_digest(
            presented.encode(), self.csrf_token.encode()
        )


@dataclass(frozen=True)
class NewSession:
    """A freshly created session: the only moment its id is visible."""

    session_id: str
    info: SessionInfo


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionService:
    """Create, resolve and end sessions.

    Parameters
    ----------
    engine
        The node's database.
    idle_timeout
        A session ends after this long without a request.
    absolute_timeout
        A session ends this long after sign-in, however busy.
    clock
        Returns the current time (timezone-aware); tests pass a controllable clock.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        idle_timeout: timedelta = timedelta(minutes=30),
        absolute_timeout: timedelta = timedelta(hours=12),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if idle_timeout <= timedelta(0) or absolute_timeout <= timedelta(0):
            raise ValueError("session timeouts must be positive")
        self.engine = engine
        self.idle_timeout = idle_timeout
        self.absolute_timeout = absolute_timeout
        self._clock = clock

    def create(self, user_id: int) -> NewSession:
        """Start a session for ``user_id``."""
        now = self._clock()
        session_id = secrets.token_urlsafe(32)
        info = SessionInfo(user_id, secrets.token_urlsafe(32), now + self.absolute_timeout)
        with self.engine.begin() as connection:
            connection.execute(
                delete(_sessions).where(_sessions.c.expires_at <= now)
            )  # sweep the expired
            connection.execute(
                insert(_sessions).values(
                    id_sha256=_digest(session_id),
                    user_id=user_id,
                    csrf_token=info.csrf_token,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=info.expires_at,
                )
            )
        return NewSession(session_id, info)

    def resolve(self, session_id: str) -> SessionInfo:
        """The live session ``session_id`` names, or :class:`AuthError` saying why not."""
        digest = _digest(session_id)
        now = self._clock()
        with self.engine.connect() as connection:
            row = connection.execute(
                select(_sessions).where(_sessions.c.id_sha256 == digest)
            ).one_or_none()
        if row is None:
            raise AuthError("your session has ended or is unknown; sign in again")
        expires_at, last_seen = _aware(row.expires_at), _aware(row.last_seen_at)
        if now >= expires_at or now >= last_seen + self.idle_timeout:
            self.end(session_id)
            raise AuthError("your session expired; sign in again")
        if now - last_seen >= _TOUCH_EVERY:
            with self.engine.begin() as connection:
                connection.execute(
                    update(_sessions)
                    .where(_sessions.c.id_sha256 == digest)
                    .values(last_seen_at=now)
                )
        return SessionInfo(int(row.user_id), row.csrf_token, expires_at)

    def end(self, session_id: str) -> bool:
        """End a session (sign-out); whether there was one."""
        with self.engine.begin() as connection:
            result = connection.execute(
                delete(_sessions).where(_sessions.c.id_sha256 == _digest(session_id))
            )
        return bool(result.rowcount)

    def end_all(self, user_id: int) -> int:
        """End every session of ``user_id``; how many there were."""
        with self.engine.begin() as connection:
            result = connection.execute(delete(_sessions).where(_sessions.c.user_id == user_id))
        return int(result.rowcount)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
