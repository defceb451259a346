"""Services of the auth package over a migrated SQLite database, with a clock tests move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from node.audit import AuditLog
from node.auth import LockoutPolicy, PasswordHasher, SessionService, TokenService, UserService
from node.store import create_database_engine, migrate


class Clock:
    """A clock that only moves when a test says so."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'auth.sqlite3'}", durable=False)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def audit(engine: Engine, clock: Clock) -> AuditLog:
    log = AuditLog(engine, key=b"k" * 32, clock=clock)
    log.initialise()
    return log


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1)


@pytest.fixture
def users(engine: Engine, audit: AuditLog, hasher: PasswordHasher, clock: Clock) -> UserService:
    return UserService(
        engine,
        audit,
        hasher=hasher,
        lockout=LockoutPolicy(3, timedelta(minutes=10)),
        min_password_length=12,
        clock=clock,
    )


@pytest.fixture
def sessions(engine: Engine, clock: Clock) -> SessionService:
    return SessionService(
        engine,
        idle_timeout=timedelta(minutes=30),
        absolute_timeout=timedelta(hours=8),
        clock=clock,
    )


@pytest.fixture
def tokens(engine: Engine) -> TokenService:
    return TokenService(engine)
