"""Opening the node's SQL database: the shared engine, and the node's own migrations."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from shared.database import create_database_engine
from shared.database import migrate as _migrate

__all__ = ["create_database_engine", "migrate"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def migrate(engine: Engine) -> None:
    """Bring the node's schema to the newest Alembic revision (idempotent)."""
    _migrate(engine, _MIGRATIONS)
