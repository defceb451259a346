"""Dashboard sessions: an admin signs in once with their token, the browser keeps a cookie.

The coordinator's admins have tokens, not passwords. The dashboard's sign-in
form sends the token once (in a POST body, never a URL); the coordinator
answers with a random session id for an HttpOnly, SameSite=Strict cookie and
a per-session CSRF token the page sends back in ``X-CSRF-Token`` on every
request that changes state. The database keeps only a SHA-256 of the session
id. A session acts as the token it was opened with: revoking the token, its
expiry or disabling its user ends the session at the next request. A session
also ends at sign-out, after ``idle_timeout`` without a request and
``absolute_timeout`` after sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from coordinator.auth.roles import AdminPrincipal
from coordinator.auth.tokens import AdminTokenService
from coordinator.errors import AuthError
from coordinator.store.dashboard_tables import AdminSessionRow

__all__ = ["AdminSession", "AdminSessionService", "NewAdminSession"]

# last_seen_at is written at most this often, so reads do not all become writes.
_TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class AdminSession:
    """A live session: who it acts as, its CSRF token and when it ends."""

    principal: AdminPrincipal
    csrf_token: str
    expires_at: datetime

    def csrf_matches(self, presented: str | None) -> bool:
        """Whether ``presented`` is this session's CSRF token (constant time)."""
        return presented is not None and hmac.compare_digest(
            presented.encode(), self.csrf_token.encode()
        )


@dataclass(frozen=True)
class NewAdminSession:
    """A freshly opened session: the only moment its id is visible."""

    session_id: str
    session: AdminSession


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class AdminSessionService:
    """Open, resolve and end dashboard sessions.

    Parameters
    ----------
    engine
        The coordinator's database.
    tokens
        Resolves the token a session was opened with, at every request.
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
        tokens: AdminTokenService,
        *,
        idle_timeout: timedelta = timedelta(minutes=30),
        absolute_timeout: timedelta = timedelta(hours=12),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if idle_timeout <= timedelta(0) or absolute_timeout <= timedelta(0):
            raise ValueError("session timeouts must be positive")
        self.engine = engine
        self.tokens = tokens
        self.idle_timeout = idle_timeout
        self.absolute_timeout = absolute_timeout
        self._clock = clock

    def open(self, token: str) -> NewAdminSession:
        """Check ``token`` and open a session acting as it.

        Raises
        ------
        AuthError
            The token is unknown, revoked or expired, or its user is disabled.
        """
        principal = self.tokens.resolve(token)
        if principal.token_id is None:  # pragma: no cover - every stored token has an id
            raise AuthError("this admin token cannot open a session; create a new one")
        now = self._clock()
        session_id = secrets.token_urlsafe(32)
        opened = AdminSession(principal, secrets.token_urlsafe(32), now + self.absolute_timeout)
        with Session(self.engine) as session, session.begin():
            session.execute(delete(AdminSessionRow).where(AdminSessionRow.expires_at <= now))
            session.add(
                AdminSessionRow(
                    id_sha256=_digest(session_id),
                    token_id=principal.token_id,
                    csrf_token=opened.csrf_token,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=opened.expires_at,
                )
            )
        return NewAdminSession(session_id, opened)

    def resolve(self, session_id: str) -> AdminSession:
        """The live session ``session_id`` names, or :class:`AuthError` saying why not."""
        digest = _digest(session_id)
        now = self._clock()
        with Session(self.engine) as session:
            row = session.get(AdminSessionRow, digest)
            if row is None:
                raise AuthError("your dashboard session has ended or is unknown; sign in again")
            token_id, csrf = row.token_id, row.csrf_token
            expires_at, last_seen = _aware(row.expires_at), _aware(row.last_seen_at)
        if now >= expires_at or now >= last_seen + self.idle_timeout:
            self.end(session_id)
            raise AuthError("your dashboard session expired; sign in again")
        try:
            principal = self.tokens.principal(token_id)
        except AuthError as exc:
            self.end(session_id)
            raise AuthError(f"your dashboard session ended: {exc}") from None
        if now - last_seen >= _TOUCH_EVERY:
            with Session(self.engine) as session, session.begin():
                session.execute(
                    update(AdminSessionRow)
                    .where(AdminSessionRow.id_sha256 == digest)
                    .values(last_seen_at=now)
                )
        return AdminSession(principal, csrf, expires_at)

    def end(self, session_id: str) -> bool:
        """End a session (sign-out); whether there was one."""
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                delete(AdminSessionRow).where(AdminSessionRow.id_sha256 == _digest(session_id))
            )
        return bool(getattr(result, "rowcount", 0))

    def count(self) -> int:
        """Number of stored sessions (live or not yet swept)."""
        with Session(self.engine) as session:
            query = select(func.count()).select_from(AdminSessionRow)
            return int(session.execute(query).scalar_one())
