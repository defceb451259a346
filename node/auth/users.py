"""Local users: accounts, roles, passwords and the lockout after failed sign-ins.

A user signs in with a password (hashed with Argon2id) today; the columns
``identity_provider`` and ``external_subject`` leave room for OIDC sign-in,
where a user has no password and is found by the provider's subject.

Sign-in attempts go through the lockout of :mod:`node.auth.lockout`, and
every attempt is audited in the same transaction as the change it makes.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Connection, Engine, Table, delete, insert, select, update

from node.audit import AuditAction, AuditLog
from node.auth.lockout import LockoutPolicy, LoginThrottle, locked_error
from node.auth.passwords import PasswordHasher
from node.auth.roles import Role
from node.errors import (
    AccountDisabledError,
    AuthError,
    InvalidUserError,
    NotFoundError,
    UserExistsError,
    WeakPasswordError,
)
from node.store.auth_tables import SessionRow, UserRow

__all__ = ["User", "UserService"]

# Actors the audit log uses for the node itself (tokens read "token:<name>", the CLI "cli:<login>").
_RESERVED = frozenset({"system", "cli"})

_users = cast(Table, UserRow.__table__)
_sessions = cast(Table, SessionRow.__table__)


@dataclass(frozen=True)
class User:
    """A user as the rest of the node sees it (never the password hash)."""

    id: int
    username: str
    display_name: str
    role: Role
    disabled: bool

    def to_json(self) -> dict[str, object]:
        """The user as a JSON object."""
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role.value,
            "disabled": self.disabled,
        }


class UserService:
    """Create, find, change and authenticate local users.

    Parameters
    ----------
    engine
        The node's database.
    audit
        Where sign-ins and account changes are recorded.
    hasher
        Password hashing (tests pass cheap costs).
    lockout
        The failed sign-in policy.
    min_password_length
        Shorter new passwords are refused.
    clock
        Returns the current time (timezone-aware).
    """

    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        *,
        hasher: PasswordHasher | None = None,
        lockout: LockoutPolicy | None = None,
        min_password_length: int = 12,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.audit = audit
        self.hasher = hasher or PasswordHasher()
        self.lockout = lockout or LockoutPolicy()
        self._throttle = LoginThrottle(self.lockout)
        self.min_password_length = min_password_length
        self._clock = clock

    # -- accounts -------------------------------------------------------------------------

    def create(
        self,
        username: str,
        password: str | None,
        role: Role | str,
        display_name: str = "",
        *,
        actor: str = "system",
    ) -> User:
        """Create a user; ``password=None`` makes one that cannot sign in with a password."""
        username = _valid_username(username)
        role = _role(role)
        password_hash = None if password is None else self._hash_new(password)
        now = self._clock()
        with self.engine.begin() as connection:
            if self._row(connection, username) is not None:
                raise UserExistsError(
                    f"a user named {username!r} already exists; pick another name or change "
                    "that user's role instead"
                )
            user_id = connection.execute(
                insert(_users)
                .values(
                    username=username,
                    display_name=display_name[:128],
                    role=role.value,
                    password_hash=password_hash,
                    disabled=False,
                    created_at=now,
                    updated_at=now,
                )
                .returning(_users.c.id)
            ).scalar_one()
            self.audit.append(
                connection,
                actor=actor,
                action=AuditAction.CREATED,
                target_type="user",
                target_id=username,
                detail={"role": role.value},
            )
        return User(int(user_id), username, display_name[:128], role, False)

    def get(self, username: str) -> User:
        """The user named ``username``, or :class:`NotFoundError`."""
        with self.engine.connect() as connection:
            row = self._row(connection, username)
        if row is None:
            raise NotFoundError(f"no user named {username!r}; `harmonia-node user list` shows them")
        return _user(row)

    def get_by_id(self, user_id: int) -> User:
        """The user with id ``user_id``, or :class:`NotFoundError`."""
        with self.engine.connect() as connection:
            row = connection.execute(select(_users).where(_users.c.id == user_id)).one_or_none()
        if row is None:
            raise NotFoundError(f"no user with id {user_id}")
        return _user(row)

    def list(self) -> builtins.list[User]:
        """Every user, by username."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(_users).order_by(_users.c.username)).all()
        return [_user(r) for r in rows]

    def update(
        self,
        username: str,
        *,
        role: Role | str | None = None,
        display_name: str | None = None,
        password: str | None = None,
        disabled: bool | None = None,
        actor: str = "system",
    ) -> User:
        """Change any of a user's fields in one transaction, with one audit entry.

        A new password or disabling ends the user's sessions (and a disabled
        user's tokens stop working). Nobody can disable themselves or take away
        their own admin role.
        """
        values: dict[str, object] = {}
        detail: dict[str, object] = {}
        if role is not None:
            role = _role(role)
            if actor == username and role is not Role.ADMIN:
                raise InvalidUserError(
                    "you cannot take away your own admin role; ask another admin"
                )
            values["role"] = detail["role"] = role.value
        if display_name is not None:
            values["display_name"] = detail["display_name"] = display_name[:128]
        if password is not None:
            values["password_hash"] = self._hash_new(password)
            detail["password"] = "changed"
        if disabled is not None:
            if disabled and actor == username:
                raise InvalidUserError("you cannot disable your own account; ask another admin")
            values["disabled"] = detail["disabled"] = disabled
        action = AuditAction.DISABLED if disabled else AuditAction.CHANGED
        end_sessions = password is not None or bool(disabled)
        return self._change(username, values, action, detail, actor, end_sessions=end_sessions)

    def set_role(self, username: str, role: Role | str, *, actor: str = "system") -> User:
        """Give ``username`` another role."""
        return self.update(username, role=role, actor=actor)

    def set_password(self, username: str, password: str, *, actor: str = "system") -> User:
        """Set a new password; the user's sessions end."""
        return self.update(username, password=password, actor=actor)

    def disable(self, username: str, *, actor: str = "system") -> User:
        """Disable ``username``: no sign-in, sessions end, tokens for the user stop working."""
        return self.update(username, disabled=True, actor=actor)

    def enable(self, username: str, *, actor: str = "system") -> User:
        """Enable a disabled user again."""
        return self.update(username, disabled=False, actor=actor)

    # -- sign-in --------------------------------------------------------------------------

    def authenticate(self, username: str, password: str, *, remote: str = "") -> User:
        """Check a password sign-in; returns the user or raises saying why not.

        Raises
        ------
        AccountLockedError
            Too many recent failures for this username (says when to retry).
        AuthError
            Wrong username or password (the same message for both).
        AccountDisabledError
            The password was right but an admin disabled the account.
        """
        return self._check(username, password, remote=remote, new_hash=None)

    def change_password(
        self, username: str, current_password: str, new_password: str, *, remote: str = ""
    ) -> User:
        """A user's change of their own password; every session of the user ends.

        The current password is checked like a sign-in (wrong ones count towards
        the lockout), and the change commits with its audit entry.
        """
        new_hash = self._hash_new(new_password)
        return self._check(username, current_password, remote=remote, new_hash=new_hash)

    def _check(self, username: str, password: str, *, remote: str, new_hash: str | None) -> User:
        username = username.strip()[:64]
        now = self._clock()
        detail = {"remote": remote} if remote else {}
        with self.engine.begin() as connection:
            retry_at = self._throttle.locked_until(connection, username, now)
        if retry_at is not None:
            self.audit.record(
                actor=username,
                action=AuditAction.LOCKED_OUT,
                target_type="user",
                target_id=username,
                detail=detail,
            )
            raise locked_error(username, retry_at)
        with self.engine.connect() as connection:
            row = self._row(connection, username)
        matched = self.hasher.verify(row.password_hash if row is not None else None, password)
        with self.engine.begin() as connection:
            if not matched:
                self._throttle.record_failure(connection, username, now)
                self.audit.append(
                    connection,
                    actor=username,
                    action=AuditAction.LOGIN_FAILED,
                    target_type="user",
                    target_id=username,
                    detail=detail,
                )
                retry_at = self._throttle.locked_until(connection, username, now)
            else:
                assert row is not None
                self._throttle.clear(connection, username)
                if not row.disabled and new_hash is not None:
                    connection.execute(
                        update(_users)
                        .where(_users.c.id == row.id)
                        .values(password_hash=new_hash, updated_at=now)
                    )
                    connection.execute(delete(_sessions).where(_sessions.c.user_id == row.id))
                    self.audit.append(
                        connection,
                        actor=username,
                        action=AuditAction.CHANGED,
                        target_type="user",
                        target_id=username,
                        detail={**detail, "password": "changed"},
                    )
                elif not row.disabled:
                    self.audit.append(
                        connection,
                        actor=username,
                        action=AuditAction.LOGGED_IN,
                        target_type="user",
                        target_id=username,
                        detail=detail,
                    )
                if row.disabled:
                    self.audit.append(
                        connection,
                        actor=username,
                        action=AuditAction.LOGIN_FAILED,
                        target_type="user",
                        target_id=username,
                        detail={**detail, "reason": "disabled"},
                    )
                elif self.hasher.needs_rehash(row.password_hash):
                    connection.execute(
                        update(_users)
                        .where(_users.c.id == row.id)
                        .values(password_hash=self.hasher.hash(password))
                    )
        if not matched:
            if retry_at is not None:
                raise locked_error(username, retry_at)
            raise AuthError("wrong username or password")
        assert row is not None
        if row.disabled:
            raise AccountDisabledError(
                f"the account {username!r} is disabled; ask an admin to enable it"
            )
        return _user(row)

    def assert_active(self, user_id: int) -> User:
        """The user with ``user_id`` if enabled; :class:`AuthError` otherwise."""
        with self.engine.connect() as connection:
            row = connection.execute(select(_users).where(_users.c.id == user_id)).one_or_none()
        if row is None:
            raise AuthError("the signed-in user no longer exists; sign in again")
        if row.disabled:
            raise AuthError(f"the account {row.username!r} is disabled; ask an admin")
        return _user(row)

    # -- internals ------------------------------------------------------------------------

    def _hash_new(self, password: str) -> str:
        if len(password) < self.min_password_length:
            raise WeakPasswordError(
                f"passwords need at least {self.min_password_length} characters; "
                "a passphrase of a few words is easy to remember"
            )
        return self.hasher.hash(password)

    def _change(
        self,
        username: str,
        values: dict[str, object],
        action: AuditAction,
        detail: dict[str, object],
        actor: str,
        *,
        end_sessions: bool = False,
    ) -> User:
        with self.engine.begin() as connection:
            row = self._row(connection, username)
            if row is None:
                raise NotFoundError(
                    f"no user named {username!r}; `harmonia-node user list` shows them"
                )
            connection.execute(
                update(_users)
                .where(_users.c.id == row.id)
                .values(**values, updated_at=self._clock())
            )
            if end_sessions:
                connection.execute(delete(_sessions).where(_sessions.c.user_id == row.id))
            if "password_hash" in values:
                self._throttle.clear(connection, username)  # a reset password unlocks
            self.audit.append(
                connection,
                actor=actor,
                action=action,
                target_type="user",
                target_id=username,
                detail=detail,
            )
            changed = connection.execute(select(_users).where(_users.c.id == row.id)).one()
        return _user(changed)

    def _row(self, connection: Connection, username: str):  # type: ignore[no-untyped-def]
        return connection.execute(select(_users).where(_users.c.username == username)).one_or_none()

    def failure_count(self, username: str) -> int:
        """Failed sign-ins for ``username`` still inside the lockout window."""
        with self.engine.connect() as connection:
            return self._throttle.failure_count(connection, username, self._clock())


def _user(row) -> User:  # type: ignore[no-untyped-def]
    return User(
        id=int(row.id),
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        disabled=bool(row.disabled),
    )


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidUserError(f"unknown role {role!r}; choose one of {choices}") from None


def _valid_username(username: str) -> str:
    name = username.strip()
    if not 1 <= len(name) <= 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise InvalidUserError(f"username {username!r} must be 1-64 letters, digits or . _ - @")
    if name.lower() in _RESERVED:
        raise InvalidUserError(f"{name!r} names the node itself in the audit log; pick another")
    return name
