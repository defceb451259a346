"""Readiness probes: database, schema, writable directory, the Readiness registry."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from node.observability import NODE_MIGRATIONS
from node.store import create_database_engine, migrate
from shared.observability import (
    Readiness,
    database_probe,
    schema_probe,
    schema_revisions,
    writable_probe,
)


def test_a_probe_that_raises_counts_as_failed() -> None:
    readiness = Readiness()
    readiness.add("good", lambda: (True, "fine"))

    def broken() -> tuple[bool, str]:
        raise OSError("disk gone hn_abcdefghijklmnop")

    readiness.add("bad", broken)
    good, bad = readiness.run()
    assert good.ok and good.detail == "fine"
    assert not bad.ok and "disk gone" in bad.detail and "hn_abc" not in bad.detail
    readiness.remove("bad")
    assert readiness.names == ["good"]


def test_database_probe(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert database_probe(engine)()[0]
    unreachable = create_engine("sqlite:////nonexistent-dir/sub/db.sqlite3")
    ok, detail = database_probe(unreachable)()
    assert not ok and "does not answer" in detail


def test_schema_probe_before_and_after_migrations(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    ok, detail = schema_probe(engine, NODE_MIGRATIONS)()
    assert not ok and "schema at revision none" in detail and "restart" in detail
    migrate(engine)
    ok, detail = schema_probe(engine, NODE_MIGRATIONS)()
    assert ok, detail
    current, heads = schema_revisions(engine, NODE_MIGRATIONS)
    assert current == heads
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    assert not schema_probe(engine, NODE_MIGRATIONS)()[0]


def test_writable_probe_never_creates_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "instances"
    ok, detail = writable_probe(folder, "the blob store")()
    assert not ok and "is it mounted?" in detail
    assert not folder.exists()
    folder.mkdir()
    assert writable_probe(folder, "the blob store")()[0]
    assert list(folder.iterdir()) == []
