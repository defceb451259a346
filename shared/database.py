"""Opening a service's SQL database: an engine tuned for SQLite or PostgreSQL, and migrations.

The node and the coordinator both keep their state in SQLite by default and
PostgreSQL by URL; each owns its Alembic migrations and passes their location
to :func:`migrate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.pool import StaticPool

__all__ = ["create_database_engine", "migrate", "missing_triggers"]


def create_database_engine(url: str, *, durable: bool = True) -> Engine:
    """Create an engine for ``url``, tuned for a write-ahead, crash-safe service.

    SQLite runs in WAL mode so readers never block writers, with foreign keys
    on and a busy timeout so concurrent writers queue instead of failing.
    ``durable`` chooses ``synchronous=FULL`` (a committed row survives a power
    cut) over ``NORMAL`` (survives a process crash, the guarantee kill -9
    tests check). Any other URL (PostgreSQL) gets a pre-pinged pool.
    """
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if in_memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)
    synchronous = "FULL" if durable else "NORMAL"

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


def migrate(engine: Engine, script_location: Path) -> None:
    """Bring the schema to the newest revision of the migrations at ``script_location``.

    Idempotent: a schema already at head is left as it is.
    """
    from alembic import command  # only here: processes that only read and write rows skip it
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def missing_triggers(engine: Engine, names: Sequence[str]) -> tuple[str, ...]:
    """The SQLite triggers of ``names`` the database lacks (always none on other databases).

    Append-only tables are kept so by triggers; someone with the database file
    can drop them, which a verification reports as a warning.
    """
    if engine.dialect.name != "sqlite":
        return ()
    with engine.connect() as connection:
        present = set(
            connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            .scalars()
            .all()
        )
    return tuple(name for name in names if name not in present)
