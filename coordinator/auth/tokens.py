"""Admin users and their bearer tokens; only a SHA-256 of each token is stored.

Issued tokens read ``hca_<id>_<secret>`` with 256 bits of entropy. A bootstrap
token chosen by the operator may be any string of at least 24 characters.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from coordinator.auth.roles import AdminPrincipal, Role
from coordinator.errors import AuthError, NotFoundError
from coordinator.store.tables import AdminTokenRow, AdminUserRow

__all__ = ["AdminTokenService", "IssuedAdminToken"]

_PREFIX = "hca"


@dataclass(frozen=True)
class IssuedAdminToken:
    """A newly issued token: the only moment its secret is visible."""

    token_id: str
    username: str
    role: Role
    token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _principal(token_row: AdminTokenRow, user: AdminUserRow) -> AdminPrincipal:
    if token_row.revoked_at is not None:
        raise AuthError(f"admin token {token_row.name!r} was revoked; create a new one")
    expires = _aware(token_row.expires_at)
    if expires is not None and expires <= datetime.now(UTC):
        raise AuthError(f"admin token {token_row.name!r} expired; create a new one")
    if user.disabled:
        raise AuthError(f"admin user {user.username!r} is disabled")
    return AdminPrincipal(user.username, Role(user.role), token_row.token_id)


class AdminTokenService:
    """Creates admin users and tokens, and resolves a token to its principal."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def issue(
        self,
        username: str,
        *,
        role: Role | str | None = None,
        name: str = "",
        expires_at: datetime | None = None,
        token: str | None = None,
    ) -> IssuedAdminToken:
        """Issue a token for ``username``, creating the user with ``role`` if absent.

        An existing user keeps their role; passing a different ``role`` is an error.
        """
        wanted = Role(role) if role is not None else None
        if token is not None and len(token) < 24:
            raise AuthError("a chosen admin token must be at least 24 characters long")
        token_id = secrets.token_hex(8)
        secret = token or f"{_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            user = session.execute(
                select(AdminUserRow).where(AdminUserRow.username == username)
            ).scalar_one_or_none()
            if user is None:
                if wanted is None:
                    raise NotFoundError(f"no admin user {username!r}; give --role to create one")
                user = AdminUserRow(
                    username=username[:64], role=wanted.value, disabled=False, created_at=now
                )
                session.add(user)
                session.flush()
            elif wanted is not None and Role(user.role) is not wanted:
                raise AuthError(
                    f"admin user {username!r} already has the role {user.role}; leave out "
                    "--role, or create a token for another user"
                )
            session.add(
                AdminTokenRow(
                    token_id=token_id,
                    user_id=user.id,
                    name=(name or username)[:128],
                    secret_sha256=_hash(secret),
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            return IssuedAdminToken(token_id, user.username, Role(user.role), secret)

    def resolve(self, token: str) -> AdminPrincipal:
        """The principal a token acts as, or :class:`AuthError` saying why not."""
        with Session(self.engine) as session:
            row = session.execute(
                select(AdminTokenRow, AdminUserRow)
                .join(AdminUserRow, AdminUserRow.id == AdminTokenRow.user_id)
                .where(AdminTokenRow.secret_sha256 == _hash(token))
            ).one_or_none()
        if row is None:
            raise AuthError("unknown admin token; check it was copied whole, or create a new one")
        return _principal(*row)

    def principal(self, token_id: str) -> AdminPrincipal:
        """The principal of token ``token_id`` (a dashboard session acts as its token)."""
        with Session(self.engine) as session:
            row = session.execute(
                select(AdminTokenRow, AdminUserRow)
                .join(AdminUserRow, AdminUserRow.id == AdminTokenRow.user_id)
                .where(AdminTokenRow.token_id == token_id)
            ).one_or_none()
        if row is None:
            raise AuthError("the admin token of this session no longer exists; sign in again")
        return _principal(*row)

    def revoke(self, token_id: str) -> None:
        """Revoke a token by id."""
        with Session(self.engine) as session, session.begin():
            row = session.get(AdminTokenRow, token_id)
            if row is None:
                raise NotFoundError(f"no admin token with id {token_id}")
            row.revoked_at = datetime.now(UTC)

    def count(self) -> int:
        """Number of tokens not revoked."""
        with Session(self.engine) as session:
            query = (
                select(func.count())
                .select_from(AdminTokenRow)
                .where(AdminTokenRow.revoked_at.is_(None))
            )
            return int(session.execute(query).scalar_one())
