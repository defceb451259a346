"""Lockout after repeated failed sign-ins for one username.

After ``max_failures`` failures within ``window``, further attempts for that
name are refused, without checking the password, until the oldest counted
failure leaves the window. A successful sign-in clears the count. Unknown
usernames are counted the same way, so the answers never tell which names
exist. Failures are rows in ``login_failures``, so the count holds across
processes and restarts; rows older than the window are swept as new ones come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Table, delete, func, insert, select

from node.errors import AccountLockedError
from node.store.auth_tables import LoginFailureRow

__all__ = ["LockoutPolicy", "LoginThrottle"]

_failures = cast(Table, LoginFailureRow.__table__)


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failed sign-ins within which window lock a username."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.window <= timedelta(0):
            raise ValueError("lockout needs max_failures >= 1 and a positive window")


class LoginThrottle:
    """Count failed sign-ins per username, inside the caller's transaction."""

    def __init__(self, policy: LockoutPolicy) -> None:
        self.policy = policy

    def locked_until(self, connection: Connection, username: str, now: datetime) -> datetime | None:
        """When ``username`` may try again, or ``None`` if it is not locked."""
        since = now - self.policy.window
        connection.execute(delete(_failures).where(_failures.c.attempted_at < since))
        times = (
            connection.execute(
                select(_failures.c.attempted_at)
                .where(_failures.c.username == username, _failures.c.attempted_at >= since)
                .order_by(_failures.c.attempted_at)
            )
            .scalars()
            .all()
        )
        if len(times) < self.policy.max_failures:
            return None
        oldest_counted = _aware(times[len(times) - self.policy.max_failures])
        return oldest_counted + self.policy.window

    def record_failure(self, connection: Connection, username: str, now: datetime) -> None:
        """Count one failed sign-in for ``username``."""
        connection.execute(insert(_failures).values(username=username, attempted_at=now))

    def clear(self, connection: Connection, username: str) -> None:
        """Forget ``username``'s failures (after a successful sign-in)."""
        connection.execute(delete(_failures).where(_failures.c.username == username))

    def failure_count(self, connection: Connection, username: str, now: datetime) -> int:
        """Failures of ``username`` still inside the window."""
        query = (
            select(func.count())
            .select_from(_failures)
            .where(
                _failures.c.username == username,
                _failures.c.attempted_at >= now - self.policy.window,
            )
        )
        return int(connection.execute(query).scalar_one())


def locked_error(username: str, retry_at: datetime) -> AccountLockedError:
    """The error that tells a locked-out caller when to try again."""
    return AccountLockedError(
        f"too many failed sign-ins for {username!r}; try again after "
        f"{retry_at.isoformat(timespec='seconds')} (or ask an admin to reset the password)",
        retry_at=retry_at,
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
