"""Bearer API tokens with scopes; only a SHA-256 of each secret is stored.

Issued tokens read ``hn_<id>_<secret>`` with 256 bits of entropy, so a fast
hash is safe to store (slow hashes are for human passwords); the hash of the
whole token finds its row. A bootstrap token chosen by hospital IT may be any
string of at least 24 characters.

A token issued for a user (``user_id``) acts as that user, with the user's
role; its scopes, if any, narrow what it may do (``node.auth.principals``).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from node.errors import AuthError, InsufficientScopeError, NotFoundError
from node.store.schema import ApiToken

__all__ = ["IssuedToken", "Scope", "TokenInfo", "TokenService"]

_PREFIX = "hn"


class Scope(enum.StrEnum):
    """What a token may do. ``admin`` implies every other scope."""

    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"


@dataclass(frozen=True)
class TokenInfo:
    """A verified token's identity, scopes and the user it acts for (if any)."""

    token_id: str
    name: str
    scopes: frozenset[Scope]
    expires_at: datetime | None
    user_id: int | None = None

    def allows(self, scope: Scope) -> bool:
        """Whether the token holds ``scope`` (admin holds all)."""
        return scope in self.scopes or Scope.ADMIN in self.scopes

    def require(self, scope: Scope) -> None:
        """Raise :class:`InsufficientScopeError` unless the token holds ``scope``."""
        if not self.allows(scope):
            raise InsufficientScopeError(
                f"token {self.name!r} lacks the {scope.value!r} scope; "
                f"ask an admin for a token with it",
                required_scope=scope.value,
            )


@dataclass(frozen=True)
class IssuedToken:
    """A newly issued token: the only moment its secret is visible."""

    info: TokenInfo
    token: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenService:
    """Issues, verifies, lists and revokes API tokens."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def issue(
        self,
        name: str,
        scopes: Iterable[Scope],
        *,
        expires_at: datetime | None = None,
        token: str | None = None,
        user_id: int | None = None,
    ) -> IssuedToken:
        """Create a token; ``token`` adopts a caller-chosen secret (bootstrap).

        With ``user_id`` the token acts for that user and may have no scopes.
        """
        scope_set = frozenset(Scope(s) for s in scopes)
        if not scope_set and user_id is None:
            raise ValueError("a token needs at least one scope, or a user to act for")
        token_id = secrets.token_hex(8)
        if token is None:
            token = f"{_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
        elif len(token) < 24:
            raise AuthError("a chosen API token must be at least 24 characters long")
        row = ApiToken(
            token_id=token_id,
            name=name[:128],
            secret_sha256=_hash(token),
            scopes=" ".join(sorted(scope_set)),
            created_at=datetime.now(UTC),
            expires_at=expires_at,
            is_active=True,
            user_id=user_id,
        )
        with Session(self.engine) as session, session.begin():
            session.add(row)
        info = TokenInfo(token_id, name[:128], scope_set, expires_at, user_id)
        return IssuedToken(info, token)

    def verify(self, token: str) -> TokenInfo:
        """Return the token's info, or raise :class:`AuthError` saying why not."""
        digest = _hash(token.strip())
        with Session(self.engine) as session:
            row = session.execute(
                select(ApiToken).where(ApiToken.secret_sha256 == digest)
            ).scalar_one_or_none()
        if row is None or not hmac.compare_digest(row.secret_sha256, digest):
            raise AuthError("unknown API token; check it was copied whole, or issue a new one")
        if row.revoked_at is not None or not row.is_active:
            raise AuthError(f"API token {row.name!r} was revoked; ask an admin for a new one")
        expires = _aware(row.expires_at)
        if expires is not None and expires <= datetime.now(UTC):
            raise AuthError(
                f"API token {row.name!r} expired at {expires.isoformat()}; "
                "ask an admin for a new one"
            )
        return TokenInfo(
            row.token_id,
            row.name,
            frozenset(Scope(s) for s in row.scopes.split()),
            expires,
            row.user_id,
        )

    def revoke(self, token_id: str) -> None:
        """Revoke a token by id."""
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(ApiToken)
                .where(ApiToken.token_id == token_id)
                .values(revoked_at=datetime.now(UTC), is_active=False)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                raise NotFoundError(f"no API token with id {token_id}")

    def list(self) -> list[TokenInfo]:
        """Every active token (secrets are never listed)."""
        with Session(self.engine) as session:
            rows = session.execute(select(ApiToken).where(ApiToken.is_active)).scalars().all()
        return [
            TokenInfo(
                r.token_id, r.name, frozenset(Scope(s) for s in r.scopes.split()), None, r.user_id
            )
            for r in rows
        ]

    def count(self) -> int:
        """Number of active tokens."""
        with Session(self.engine) as session:
            query = select(func.count()).select_from(ApiToken).where(ApiToken.is_active)
            return int(session.execute(query).scalar_one())


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
