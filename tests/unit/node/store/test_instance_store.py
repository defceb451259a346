"""The SQL instance store: atomic puts, duplicates, searches, quarantine, sweeping."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event

import node.assist.tables  # noqa: F401  (maps the AI-assistance tables onto Base.metadata)
from node.errors import NotFoundError, QueryError, StoreError
from node.store import (
    FileBlobStore,
    InstanceAttributes,
    InstanceStore,
    Level,
    Match,
    MatchKind,
    PutStatus,
    SearchRequest,
    create_database_engine,
    migrate,
)
from node.store.schema import Base


def _attrs(
    n: int, *, study: str = "2.25.1", series: str = "2.25.2", **extra: object
) -> InstanceAttributes:
    values: dict[str, object] = {
        "study_instance_uid": study,
        "series_instance_uid": series,
        "sop_instance_uid": f"2.25.{100 + n}",
        "sop_class_uid": "1.2.840.10008.5.1.4.1.1.2",
        "transfer_syntax_uid": "1.2.840.10008.1.2.1",
        "patient_id": "HN-A",
        "study_date": "20240105",
        "modality": "CT",
        "instance_number": n,
    }
    values.update(extra)
    return InstanceAttributes(**values)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> InstanceStore:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}", durable=False)
    migrate(engine)
    return InstanceStore(engine, FileBlobStore(tmp_path / "blobs", fsync=False))


def test_migrations_match_the_mapped_schema(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode(store: InstanceStore) -> None:
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_put_then_read_back(store: InstanceStore) -> None:
    assert store.put(_attrs(1), b"file-1", source="test") == PutStatus.STORED
    record = store.instance("2.25.101", include_quarantined=False)
    assert store.read(record) == b"file-1"
    assert record.size_bytes == 6 and record.source == "test"


def test_same_sop_instance_twice_is_stored_once(store: InstanceStore) -> None:
    assert store.put(_attrs(1), b"first", source="a") == PutStatus.STORED
    assert store.put(_attrs(1), b"second", source="b") == PutStatus.DUPLICATE
    assert store.count_instances() == 1
    assert store.read(store.instance("2.25.101", include_quarantined=False)) == b"first"
    assert len(list(store.blobs.digests())) == 1  # the second file was not kept


def test_concurrent_writers_store_each_instance_once(store: InstanceStore) -> None:
    errors: list[BaseException] = []

    def send(offset: int) -> None:
        try:
            for n in range(30):
                store.put(
                    _attrs((n + offset) % 30), f"file-{(n + offset) % 30}".encode(), source="t"
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(k * 7,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.count_instances() == 30
    assert len(list(store.blobs.digests())) == 30
    for n in range(30):
        record = store.instance(f"2.25.{100 + n}", include_quarantined=False)
        assert store.read(record) == f"file-{n}".encode()


def test_failed_row_write_leaves_no_file(store: InstanceStore) -> None:
    bad = _attrs(1, study=None)  # NOT NULL violation inside the transaction
    with pytest.raises(StoreError):
        store.put(bad, b"orphan?", source="t")
    assert list(store.blobs.digests()) == []
    assert store.count_instances() == 0


def test_one_bad_instance_in_a_commit_group_fails_alone(store: InstanceStore) -> None:
    """Concurrent puts share commits; a failing row set must not take its group down."""
    results: dict[int, object] = {}

    def put(n: int) -> None:
        attributes = _attrs(n, study=None) if n == 4 else _attrs(n)
        try:
            results[n] = store.put(attributes, f"grouped-{n}".encode(), source="t")
        except StoreError as exc:
            results[n] = exc

    threads = [threading.Thread(target=put, args=(n,)) for n in range(9)]
    # Hold the writer's lock until all nine have queued, so they commit as one group.
    with store._write_lock:
        for thread in threads:
            thread.start()
        while len(store._queue) < 9:
            threading.Event().wait(0.01)
    for thread in threads:
        thread.join()
    assert isinstance(results.pop(4), StoreError)
    assert set(results.values()) == {PutStatus.STORED}
    assert store.count_instances() == 8
    assert len(list(store.blobs.digests())) == 8  # the failed one's file is gone


def test_sweep_removes_files_without_rows(store: InstanceStore) -> None:
    store.put(_attrs(1), b"kept", source="t")
    orphan = store.blobs.put(b"crashed before commit")
    assert store.sweep_orphans() == 1
    assert orphan not in set(store.blobs.digests())
    assert store.count_instances() == 1


def test_quarantine_hidden_until_released(store: InstanceStore) -> None:
    store.put(_attrs(1), b"a", source="t", quarantine_reason="burned-in text")
    with pytest.raises(NotFoundError):
        store.instance("2.25.101", include_quarantined=False)
    assert store.search_studies(SearchRequest(Level.STUDY)) == []
    assert [r.sop_instance_uid for r in store.quarantined_instances()] == ["2.25.101"]
    released = store.release("2.25.101", released_by="admin")
    assert not released.quarantined and released.released_by == "admin"
    assert len(store.search_studies(SearchRequest(Level.STUDY))) == 1


def test_search_studies_by_keys_ranges_and_wildcards(store: InstanceStore) -> None:
    store.put(
        _attrs(1, study="2.25.10", series="2.25.11", patient_id="HN-A", study_date="20240105"),
        b"1",
        source="t",
    )
    store.put(
        _attrs(
            2,
            study="2.25.20",
            series="2.25.21",
            patient_id="HN-B",
            study_date="20250301",
            modality="MR",
        ),
        b"2",
        source="t",
    )
    store.put(
        _attrs(3, study="2.25.20", series="2.25.22", patient_id="HN-B", study_date="20250301"),
        b"3",
        source="t",
    )

    def uids(*matches: Match, **kw: object) -> list[str]:
        request = SearchRequest(Level.STUDY, matches=matches, **kw)  # type: ignore[arg-type]
        return [s.study_instance_uid for s in store.search_studies(request)]

    assert uids(Match("PatientID", MatchKind.SINGLE_VALUE, ("HN-B",))) == ["2.25.20"]
    assert uids(Match("PatientID", MatchKind.WILDCARD, ("HN-*",))) == ["2.25.10", "2.25.20"]
    assert uids(Match("StudyDate", MatchKind.RANGE, ("20250101", ""))) == ["2.25.20"]
    assert uids(Match("StudyDate", MatchKind.RANGE, ("", "20241231"))) == ["2.25.10"]
    assert uids(Match("ModalitiesInStudy", MatchKind.SINGLE_VALUE, ("MR",))) == ["2.25.20"]
    assert uids(Match("StudyInstanceUID", MatchKind.UID_LIST, ("2.25.10", "2.25.99"))) == [
        "2.25.10"
    ]
    assert uids(limit=1, offset=1) == ["2.25.20"]
    study = store.search_studies(
        SearchRequest(Level.STUDY, matches=(Match("PatientID", MatchKind.SINGLE_VALUE, ("HN-B",)),))
    )[0]
    assert study.modalities_in_study == ("CT", "MR")
    assert (study.number_of_series, study.number_of_instances) == (2, 2)


def test_series_and_instance_search(store: InstanceStore) -> None:
    for n in range(3):
        store.put(_attrs(n, series_number=4), f"{n}".encode(), source="t")
    series = store.search_series(
        SearchRequest(
            Level.SERIES, matches=(Match("SeriesNumber", MatchKind.SINGLE_VALUE, ("4",)),)
        )
    )
    assert [s.number_of_instances for s in series] == [3]
    assert store.count_series_instances("2.25.2", include_quarantined=False) == 3
    assert store.count_series_instances("2.25.404", include_quarantined=True) == 0
    found = store.search_instances(
        SearchRequest(
            Level.INSTANCE, matches=(Match("InstanceNumber", MatchKind.SINGLE_VALUE, ("2",)),)
        )
    )
    assert [i.sop_instance_uid for i, _series in found] == ["2.25.102"]


def test_unknown_or_malformed_keys_are_query_errors(store: InstanceStore) -> None:
    with pytest.raises(QueryError, match="not a matching key"):
        store.search_studies(
            SearchRequest(Level.STUDY, matches=(Match("Rows", MatchKind.SINGLE_VALUE, ("1",)),))
        )
    with pytest.raises(QueryError, match="must be an integer"):
        store.search_series(
            SearchRequest(
                Level.SERIES, matches=(Match("SeriesNumber", MatchKind.SINGLE_VALUE, ("x",)),)
            )
        )


def test_instances_of_missing_study_is_not_found(store: InstanceStore) -> None:
    with pytest.raises(NotFoundError):
        store.instances(study_instance_uid="2.25.404", include_quarantined=True)


def _statements(store: InstanceStore) -> list[str]:
    executed: list[str] = []
    event.listen(
        store.engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_rest: executed.append(statement),
    )
    return executed


def test_a_committed_study_and_series_are_not_inserted_again(store: InstanceStore) -> None:
    store.put(_attrs(1, study_description="first"), b"one", source="t")
    executed = _statements(store)
    assert store.put(_attrs(2, study_description="second"), b"two", source="t") == PutStatus.STORED
    inserts = [s.split("(")[0].strip() for s in executed if s.startswith("INSERT")]
    assert inserts == ["INSERT INTO instances"]
    study = store.search_studies(SearchRequest(Level.STUDY))[0]
    assert study.study_description == "first"  # the first instance's, as before
    assert study.number_of_instances == 2
    store.put(_attrs(3, series="2.25.3"), b"three", source="t")  # a new series is recorded
    assert store.count_instances() == 3
    assert len(store.search_series(SearchRequest(Level.SERIES))) == 2


def test_a_study_remembered_wrongly_is_recorded_on_the_retry(store: InstanceStore) -> None:
    # Rows are never deleted, so this cannot happen; if it did, the instance's
    # foreign keys would fail its group, and its retry alone inserts every row.
    store._studies.add("2.25.77")
    store._series.add("2.25.78")
    assert store.put(_attrs(1, study="2.25.77", series="2.25.78"), b"x", source="t") == (
        PutStatus.STORED
    )
    assert store.instance("2.25.101", include_quarantined=False).series_instance_uid == "2.25.78"
    studies = store.search_studies(SearchRequest(Level.STUDY))
    assert [s.study_instance_uid for s in studies] == ["2.25.77"]


def test_a_locked_database_fails_the_whole_group_at_once(tmp_path: Path) -> None:
    """Retried alone, each row set would wait out the busy timeout again (minutes in all)."""
    path = tmp_path / "db.sqlite3"
    engine = create_database_engine(f"sqlite:///{path}", durable=False)
    migrate(engine)

    @event.listens_for(engine, "connect")
    def short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=100")  # after the engine's own 30 s

    engine.dispose()
    inserts: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count_inserts(*args: Any) -> None:
        if args[2].startswith("INSERT"):
            inserts.append(args[2])

    store = InstanceStore(engine, FileBlobStore(tmp_path / "blobs", fsync=False))
    results: dict[int, object] = {}

    def put(n: int) -> None:
        try:
            results[n] = store.put(_attrs(n), f"locked-{n}".encode(), source="t")
        except StoreError as exc:
            results[n] = exc

    other_writer = sqlite3.connect(path, isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the timeout
    threads = [threading.Thread(target=put, args=(n,)) for n in range(5)]
    with store._write_lock:
        for thread in threads:
            thread.start()
        while len(store._queue) < 5:
            threading.Event().wait(0.01)
    for thread in threads:
        thread.join()
    other_writer.execute("ROLLBACK")
    other_writer.close()
    assert all(isinstance(result, StoreError) for result in results.values())
    assert all("locked by another writer" in str(result) for result in results.values())
    assert len(inserts) == 1  # the group's first insert waited; no row set retried alone
    assert store.count_instances() == 0 and list(store.blobs.digests()) == []
    assert store.put(_attrs(1), b"after", source="t") == PutStatus.STORED
