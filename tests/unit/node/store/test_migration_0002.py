"""Migration 0002 on a node that already has tokens: they keep working, now with a user column."""

from __future__ import annotations

import hashlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from node.auth import Scope, TokenService
from node.store import create_database_engine, migrate
from node.store.database import _MIGRATIONS


def test_upgrade_from_0001_keeps_existing_tokens(tmp_path: Path) -> None:
    # A 0001-era node with one token, written by raw SQL as the old code stored it.
    engine = create_database_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}", durable=False)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with engine.begin() as connection:
        assert "users" not in inspect(connection).get_table_names()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO api_tokens (token_id, name, secret_sha256, scopes, created_at, "
                "is_active) VALUES ('t1', 'old', :digest, 'read', '2026-01-01 00:00:00', 1)"
            ),
            {"digest": hashlib.sha256(b"x" * 32).hexdigest()},
        )
    migrate(engine)
    tokens = TokenService(engine)
    info = tokens.verify("x" * 32)
    assert info.name == "old" and info.scopes == {Scope.READ} and info.user_id is None
    with engine.connect() as connection:
        names = set(inspect(connection).get_table_names())
        triggers = set(
            connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            .scalars()
            .all()
        )
        head = connection.execute(text("SELECT seq, entry_hash FROM audit_head")).one()
    assert {"users", "user_sessions", "login_failures", "audit_log", "audit_head"} <= names
    assert {"audit_log_no_update", "audit_log_no_delete"} <= triggers
    assert tuple(head) == (0, "0" * 64)
    engine.dispose()
