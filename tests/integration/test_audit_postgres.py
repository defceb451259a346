"""The audit chain, users and sessions on a real PostgreSQL server (row lock on the head)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from node.audit import verify_audit_log
from node.auth import PasswordHasher, Role
from node.runtime import NodeRuntime, open_node
from node.settings import NodeSettings
from tests.support.postgres import PostgresServer, postgres_bin_dir, running_postgres

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(postgres_bin_dir() is None, reason="PostgreSQL server not installed"),
]


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeRuntime]:
    server: PostgresServer
    with running_postgres() as server:
        settings = NodeSettings(data_dir=tmp_path / "node", database_url=server.url, fsync=False)
        with open_node(settings) as runtime:
            runtime.users.hasher = PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1)
            yield runtime


def test_concurrent_appends_and_triggers_on_postgres(node: NodeRuntime) -> None:
    threads, per_thread = 6, 10
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                node.audit.record(
                    actor=f"w{worker}", action="viewed", target_type="t", target_id=str(i)
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    result = verify_audit_log(node.audit)
    assert result.intact and result.entries == threads * per_thread
    for statement in (
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 2",
        "UPDATE audit_head SET seq = 1",
        "DELETE FROM audit_head",
    ):
        with pytest.raises(DBAPIError, match="append-only"), node.engine.begin() as connection:
            connection.execute(text(statement))
    assert verify_audit_log(node.audit).intact


def test_users_sessions_and_lockout_on_postgres(node: NodeRuntime) -> None:
    ann = node.users.create("ann", "correct horse battery", Role.ANNOTATOR)
    assert node.users.authenticate("ann", "correct horse battery") == ann
    new = node.sessions.create(ann.id)
    assert node.principals.from_session(new.session_id).principal.username == "ann"
    token = node.tokens.issue("ann-script", [], user_id=ann.id).token
    assert node.principals.from_token(token).role is Role.ANNOTATOR
    node.users.disable("ann", actor="admin")
    assert [e.action for e in node.audit.entries()][-1] == "disabled"
    assert verify_audit_log(node.audit).intact
