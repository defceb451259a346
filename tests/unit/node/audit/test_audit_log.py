"""The audit chain: appends, verification, and every kind of tampering it must catch."""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from node.audit import GENESIS_HASH, AuditAction, AuditLog, audit_key, verify_audit_log
from node.store import create_database_engine, migrate

KEY = audit_key(b"s" * 32)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.sqlite3"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = create_database_engine(f"sqlite:///{db_path}", durable=False)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def log(engine: Engine) -> AuditLog:
    log = AuditLog(engine, key=KEY)
    log.initialise()
    return log


def _fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.record(
            actor=f"user{i % 3}",
            action=AuditAction.VIEWED,
            target_type="task",
            target_id=str(i),
            detail={"i": i, "note": "ünïcode"},
        )


def _raw(db_path: Path, *statements: str) -> None:
    """Tamper as someone with the file would: plain sqlite3, triggers dropped first."""
    connection = sqlite3.connect(db_path)
    try:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


_DROP = (
    "DROP TRIGGER audit_log_no_update",
    "DROP TRIGGER audit_log_no_delete",
    "DROP TRIGGER audit_head_no_delete",
    "DROP TRIGGER audit_head_forward_only",
)


def test_entries_chain_from_genesis(log: AuditLog) -> None:
    _fill(log, 3)
    entries = list(log.entries())
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(entries))
    assert entries[0].detail == {"i": 0, "note": "ünïcode"}
    result = verify_audit_log(log)
    assert result.intact and result.entries == 3 and result.head_seq == 3
    assert result.head_hash == entries[-1].entry_hash and result.warnings == ()


def test_empty_log_verifies(log: AuditLog) -> None:
    result = verify_audit_log(log)
    assert result.intact and result.entries == 0


def test_append_commits_and_rolls_back_with_the_callers_transaction(
    log: AuditLog, engine: Engine
) -> None:
    with pytest.raises(RuntimeError), engine.begin() as connection:
        log.append(connection, actor="a", action="created", target_type="t", target_id="1")
        raise RuntimeError("the action failed")
    assert list(log.entries()) == [] and log.count() == 0
    with engine.begin() as connection:
        entry = log.append(connection, actor="a", action="created", target_type="t", target_id="1")
    assert entry.seq == 1 and log.count() == 1 and verify_audit_log(log).intact


def test_triggers_refuse_update_and_delete(log: AuditLog, engine: Engine) -> None:
    _fill(log, 2)
    for statement in (
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 2",
        "DELETE FROM audit_head",
        "UPDATE audit_head SET seq = 1",
    ):
        refused = r"append-only|cannot be removed|forward"
        with pytest.raises(DBAPIError, match=refused), engine.begin() as connection:
            connection.execute(text(statement))
    assert verify_audit_log(log).intact


def test_modified_row_is_detected(log: AuditLog, db_path: Path) -> None:
    _fill(log, 5)
    _raw(db_path, *_DROP, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    result = verify_audit_log(log)
    assert not result.intact and result.first_bad_seq == 3 and "changed" in (result.problem or "")
    assert any("audit_log_no_update" in w for w in result.warnings)


def test_modified_detail_is_detected(log: AuditLog, db_path: Path) -> None:
    _fill(log, 3)
    _raw(db_path, *_DROP, """UPDATE audit_log SET detail = '{"i":99}' WHERE seq = 2""")
    assert verify_audit_log(log).first_bad_seq == 2


def test_rewritten_chain_without_the_key_is_detected(log: AuditLog, db_path: Path) -> None:
    _fill(log, 4)
    # An attacker rewrites entry 2 and recomputes every later hash, but has no key.
    forger = AuditLog(log.engine, key=b"guessed key")
    entries = list(log.entries())
    _raw(db_path, *_DROP, "DELETE FROM audit_log WHERE seq >= 2", "UPDATE audit_head SET seq = 1")
    _raw(db_path, f"UPDATE audit_head SET entry_hash = '{entries[0].entry_hash}'")
    for entry in entries[1:]:
        forger.record(
            actor="mallory",
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
        )
    result = verify_audit_log(log)
    assert not result.intact and result.first_bad_seq == 2 and "MAC" in (result.problem or "")


def test_deleted_row_is_detected(log: AuditLog, db_path: Path) -> None:
    _fill(log, 5)
    _raw(db_path, *_DROP, "DELETE FROM audit_log WHERE seq = 2")
    result = verify_audit_log(log)
    assert result.first_bad_seq == 2 and "missing" in (result.problem or "")


def test_truncated_tail_is_detected(log: AuditLog, db_path: Path) -> None:
    _fill(log, 5)
    _raw(db_path, *_DROP, "DELETE FROM audit_log WHERE seq >= 4")
    result = verify_audit_log(log)
    assert result.first_bad_seq == 4 and "removed from the end" in (result.problem or "")


def test_truncated_tail_with_head_moved_back_is_detected(log: AuditLog, db_path: Path) -> None:
    _fill(log, 5)
    third = list(log.entries())[2]
    _raw(
        db_path,
        *_DROP,
        "DELETE FROM audit_log WHERE seq >= 4",
        f"UPDATE audit_head SET seq = 3, entry_hash = '{third.entry_hash}'",
    )
    result = verify_audit_log(log)
    assert not result.intact and "head" in (result.problem or "")


def test_wrong_key_is_reported(log: AuditLog) -> None:
    _fill(log, 2)
    result = verify_audit_log(AuditLog(log.engine, key=b"another node's key"))
    assert result.first_bad_seq == 1 and "MAC" in (result.problem or "")


def test_concurrent_appends_make_one_gapless_chain(log: AuditLog) -> None:
    threads, per_thread = 6, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                log.record(actor=f"w{worker}", action="viewed", target_type="t", target_id=str(i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    result = verify_audit_log(log)
    assert result.intact and result.entries == threads * per_thread
    assert [e.seq for e in log.entries()] == list(range(1, threads * per_thread + 1))


def test_time_is_recorded_in_utc_with_microseconds(engine: Engine) -> None:
    fixed = datetime(2026, 11, 28, 9, 30, 1, 5, tzinfo=UTC)
    log = AuditLog(engine, key=KEY, clock=lambda: fixed)
    log.initialise()
    entry = log.record(actor="a", action="exported", target_type="project", target_id="p")
    assert entry.recorded_at == "2026-11-28T09:30:01.000005+00:00"
    assert entry.to_json()["time"] == entry.recorded_at


def test_verify_while_writers_append_never_reports_tampering(log: AuditLog) -> None:
    _fill(log, 5)
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(40):
                log.record(actor="w", action="viewed", target_type="t", target_id=str(i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    results = [verify_audit_log(log)]
    while not done.is_set():
        results.append(verify_audit_log(log))
    thread.join()
    results.append(verify_audit_log(log))
    assert errors == []
    assert all(r.intact for r in results), [r.problem for r in results if not r.intact]
    assert results[-1].entries == 45


def test_row_inserted_beyond_the_head_is_detected(log: AuditLog, db_path: Path) -> None:
    _fill(log, 2)
    last = list(log.entries())[-1]
    _raw(
        db_path,
        "INSERT INTO audit_log (seq, recorded_at, actor, action, target_type, target_id, "
        "detail, prev_hash, entry_hash, mac) VALUES (3, '2026-01-01T00:00:00.000000+00:00', "
        f"'mallory', 'viewed', 't', '1', '{{}}', '{last.entry_hash}', 'x', 'y')",
    )
    result = verify_audit_log(log)
    assert result.first_bad_seq == 3 and "beyond the sealed head" in (result.problem or "")


def test_anchor_catches_a_rollback_and_a_rewrite(log: AuditLog) -> None:
    _fill(log, 4)
    anchor = (4, list(log.entries())[-1].entry_hash)
    assert verify_audit_log(log, anchor=anchor).intact
    _fill(log, 2)
    assert verify_audit_log(log, anchor=anchor).intact  # the log moved on: fine
    wrong = verify_audit_log(log, anchor=(4, "f" * 64))
    assert wrong.first_bad_seq == 4 and "anchor" in (wrong.problem or "")
    rolled = verify_audit_log(log, anchor=(9, "f" * 64))
    assert rolled.first_bad_seq == 7 and "rolled back" in (rolled.problem or "")
