"""The instance store: SQL rows plus content-addressed files, written as one.

An instance is stored whole or not at all. Its file is written first
(atomically, under its SHA-256), then its rows commit in one transaction. A
crash between the two leaves only an unreferenced file, which
:meth:`InstanceStore.sweep_orphans` removes at the next start.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from node.errors import NotFoundError, StoreError
from node.store import search
from node.store.blobs import BlobStore, StagedBlob
from node.store.criteria import SearchRequest
from node.store.records import (
    InstanceAttributes,
    InstanceRecord,
    PutStatus,
    SeriesRecord,
    StudyRecord,
)
from node.store.schema import Base, InstanceRow, ReidentificationLink, SeriesRow
from node.store.search import instance_record, visible

__all__ = ["InstanceStore"]


# Remembered study and series UIDs (a few MB at most); forgetting only costs inserts.
_MAX_RECORDED = 50_000


def _now() -> datetime:
    return datetime.now(UTC)


def _reason(error: Exception) -> str:
    """Why the rows did not commit, in words an operator can act on."""
    if isinstance(error, OperationalError) and "locked" in str(error.orig):
        return (
            "the database stayed locked by another writer past its busy timeout "
            f"({error.orig}); the node is busy, send the instance again later"
        )
    return str(error)


@dataclass(eq=False)
class _PendingRows:
    """One instance's rows, waiting in the group-commit queue, and what became of them."""

    study: dict[str, Any]
    series: dict[str, Any]
    instance: dict[str, Any]
    link: dict[str, Any] | None
    inserted: bool = False
    error: Exception | None = None
    done: bool = False


class InstanceStore:
    """Stores de-identified instances and answers study/series/instance searches.

    Parameters
    ----------
    engine
        A migrated SQLAlchemy engine (SQLite or PostgreSQL).
    blobs
        Where instance files go.
    """

    def __init__(self, engine: Engine, blobs: BlobStore) -> None:
        self.engine = engine
        self.blobs = blobs
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        # One writer per process at a time: SQLite serializes writers anyway,
        # and queueing here is cheaper than spinning on SQLITE_BUSY.
        self._write_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_PendingRows] = []
        # Study and series UIDs whose rows are committed (rows are never deleted):
        # their inserts, certain to do nothing, are skipped. Guarded by _write_lock.
        self._studies: set[str] = set()
        self._series: set[str] = set()
        self._contains = select(InstanceRow.sop_instance_uid).where(
            InstanceRow.sop_instance_uid == bindparam("uid")
        )
        self._insert_study = self._insert(Base.metadata.tables["studies"]).on_conflict_do_nothing()
        self._insert_series = self._insert(Base.metadata.tables["series"]).on_conflict_do_nothing()
        self._insert_instance = self._insert(
            Base.metadata.tables["instances"]
        ).on_conflict_do_nothing()
        self._insert_link = self._insert(
            Base.metadata.tables["reidentification_links"]
        ).on_conflict_do_nothing()

    # -- writing -----------------------------------------------------------------

    def contains(self, sop_instance_uid: str) -> bool:
        """Whether an instance with this (de-identified) SOP Instance UID is stored."""
        with self.engine.connect() as connection:
            found = connection.execute(self._contains, {"uid": sop_instance_uid}).first()
        return found is not None

    def put(
        self,
        attributes: InstanceAttributes,
        data: bytes | StagedBlob,
        *,
        source: str,
        quarantine_reason: str | None = None,
        sealed_link: tuple[str, bytes] | None = None,
    ) -> str:
        """Store one instance file and its rows atomically.

        Returns :attr:`PutStatus.STORED`, or :attr:`PutStatus.DUPLICATE` when
        the SOP Instance UID was already stored (the first copy is kept).
        ``sealed_link`` is ``(patient_pseudonym, sealed_bytes)`` for the
        optional re-identification link. ``data`` is the encoded file, or a
        file an ingest worker already staged (:func:`~node.store.blobs.stage_blob`).
        """
        if isinstance(data, StagedBlob):
            digest, size = self.blobs.adopt(data), data.size
        else:
            digest, size = self.blobs.put(data), len(data)
        now = _now()
        a = attributes
        rows = _PendingRows(
            study={
                "study_instance_uid": a.study_instance_uid,
                "patient_id": a.patient_id,
                "patient_name": a.patient_name,
                "patient_birth_date": a.patient_birth_date,
                "patient_sex": a.patient_sex,
                "study_date": a.study_date,
                "study_time": a.study_time,
                "accession_number": a.accession_number,
                "study_id": a.study_id,
                "study_description": a.study_description,
                "referring_physician_name": a.referring_physician_name,
                "created_at": now,
            },
            series={
                "series_instance_uid": a.series_instance_uid,
                "study_instance_uid": a.study_instance_uid,
                "modality": a.modality,
                "series_number": a.series_number,
                "series_description": a.series_description,
                "body_part_examined": a.body_part_examined,
                "performed_procedure_step_start_date": a.performed_procedure_step_start_date,
                "frame_of_reference_uid": a.frame_of_reference_uid,
                "created_at": now,
            },
            instance={
                "sop_instance_uid": a.sop_instance_uid,
                "series_instance_uid": a.series_instance_uid,
                "study_instance_uid": a.study_instance_uid,
                "sop_class_uid": a.sop_class_uid,
                "transfer_syntax_uid": a.transfer_syntax_uid,
                "instance_number": a.instance_number,
                "rows": a.rows,
                "columns": a.columns,
                "bits_allocated": a.bits_allocated,
                "number_of_frames": a.number_of_frames,
                "content_sha256": digest,
                "size_bytes": size,
                "source": source[:256],
                "received_at": now,
                "quarantine_reason": quarantine_reason,
                "released_at": None,
                "released_by": None,
            },
            link=None
            if sealed_link is None
            else {
                "patient_pseudonym": sealed_link[0],
                "study_instance_uid": a.study_instance_uid,
                "sealed": sealed_link[1],
                "created_at": now,
            },
        )
        self._commit_in_group(rows)
        if rows.error is not None:
            self._discard_unreferenced(digest)
            raise StoreError(
                f"could not record instance {a.sop_instance_uid}, nothing was stored: "
                f"{_reason(rows.error)}"
            ) from rows.error
        if not rows.inserted:
            self._discard_unreferenced(digest)
            return PutStatus.DUPLICATE
        return PutStatus.STORED

    def _commit_in_group(self, rows: _PendingRows) -> None:
        """Commit ``rows``, together with whatever other writers queued meanwhile.

        Group commit: the writer that gets the lock commits every queued row
        set in one transaction, so concurrent senders share one durable
        commit (one WAL fsync) instead of queueing for one each. Each caller
        returns only once its own rows are committed, or have failed. When a
        group fails on its data, its row sets are retried one by one, so one
        bad instance cannot fail its neighbours. When the database itself
        refused (:class:`~sqlalchemy.exc.OperationalError`: locked by another
        writer past the busy timeout, disk full, connection lost), every row
        set fails at once: retried alone, each would wait out the same busy
        timeout again, and a C-STORE sender would hear nothing for minutes.
        """
        with self._queue_lock:
            self._queue.append(rows)
        with self._write_lock:
            if rows.done:
                return
            with self._queue_lock:
                group, self._queue = self._queue, []
            try:
                with self.engine.begin() as connection:
                    for queued in group:
                        queued.inserted = self._insert_rows(connection, queued, skip_recorded=True)
                self._remember(group)
            except OperationalError as exc:
                for queued in group:
                    queued.inserted, queued.error = False, exc
            except Exception:
                for queued in group:
                    self._commit_alone(queued)
            for queued in group:
                queued.done = True

    def _commit_alone(self, rows: _PendingRows) -> None:
        try:
            with self.engine.begin() as connection:
                rows.inserted = self._insert_rows(connection, rows, skip_recorded=False)
            self._remember([rows])
        except Exception as exc:
            rows.inserted = False
            rows.error = exc

    def _remember(self, committed: list[_PendingRows]) -> None:
        if len(self._series) > _MAX_RECORDED:
            self._studies.clear()
            self._series.clear()
        for rows in committed:
            self._studies.add(rows.study["study_instance_uid"])
            self._series.add(rows.series["series_instance_uid"])

    def _insert_rows(
        self, connection: Connection, rows: _PendingRows, *, skip_recorded: bool
    ) -> bool:
        study, series = rows.study["study_instance_uid"], rows.series["series_instance_uid"]
        if not (skip_recorded and study in self._studies):
            connection.execute(self._insert_study, rows.study)
        if not (skip_recorded and series in self._series):
            connection.execute(self._insert_series, rows.series)
        inserted = bool(connection.execute(self._insert_instance, rows.instance).rowcount)
        if inserted and rows.link is not None:
            connection.execute(self._insert_link, rows.link)
        return inserted

    def _discard_unreferenced(self, digest: str) -> None:
        with self._write_lock, Session(self.engine) as session:
            referenced = session.execute(
                select(exists().where(InstanceRow.content_sha256 == digest))
            ).scalar()
            if not referenced:
                self.blobs.delete(digest)

    def sweep_orphans(self) -> int:
        """Delete files no instance row references; call only when no other writer runs."""
        with Session(self.engine) as session:
            referenced = set(session.execute(select(InstanceRow.content_sha256)).scalars())
        return self.blobs.sweep(lambda digest: digest in referenced)

    def release(self, sop_instance_uid: str, *, released_by: str) -> InstanceRecord:
        """Release a quarantined instance for annotation."""
        with self._write_lock, Session(self.engine) as session, session.begin():
            row = session.get(InstanceRow, sop_instance_uid)
            if row is None:
                raise NotFoundError(f"no instance {sop_instance_uid} on this node")
            if row.quarantine_reason is not None and row.released_at is None:
                session.execute(
                    update(InstanceRow)
                    .where(InstanceRow.sop_instance_uid == sop_instance_uid)
                    .values(released_at=_now(), released_by=released_by[:128])
                )
        return self.instance(sop_instance_uid, include_quarantined=True)

    # -- reading -------------------------------------------------------------------

    def instance(self, sop_instance_uid: str, *, include_quarantined: bool) -> InstanceRecord:
        """Return one instance, or :class:`NotFoundError`."""
        with Session(self.engine) as session:
            row = session.get(InstanceRow, sop_instance_uid)
            if row is None or (row.quarantined and not include_quarantined):
                raise NotFoundError(f"no instance {sop_instance_uid} on this node")
            return instance_record(row)

    def read(self, record: InstanceRecord) -> bytes:
        """Return the Part 10 bytes of a stored instance."""
        return self.blobs.get(record.content_sha256)

    def instances(
        self,
        *,
        study_instance_uid: str,
        series_instance_uid: str | None = None,
        include_quarantined: bool,
    ) -> list[InstanceRecord]:
        """Instances of a study (or one of its series), in series then instance order."""
        query = (
            select(InstanceRow)
            .join(SeriesRow, SeriesRow.series_instance_uid == InstanceRow.series_instance_uid)
            .where(InstanceRow.study_instance_uid == study_instance_uid)
            .where(visible(include_quarantined))
            .order_by(
                SeriesRow.series_number,
                InstanceRow.series_instance_uid,
                InstanceRow.instance_number,
                InstanceRow.sop_instance_uid,
            )
        )
        if series_instance_uid is not None:
            query = query.where(InstanceRow.series_instance_uid == series_instance_uid)
        with Session(self.engine) as session:
            rows = session.execute(query).scalars().all()
        if not rows:
            what = f"series {series_instance_uid}" if series_instance_uid else "study"
            raise NotFoundError(f"no {what} of study {study_instance_uid} on this node")
        return [instance_record(row) for row in rows]

    def count_series_instances(self, series_instance_uid: str, *, include_quarantined: bool) -> int:
        """Number of visible instances of a series: a cheap version key for caches."""
        query = (
            select(func.count())
            .select_from(InstanceRow)
            .where(InstanceRow.series_instance_uid == series_instance_uid)
            .where(visible(include_quarantined))
        )
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def quarantined_instances(self) -> list[InstanceRecord]:
        """Every instance that still waits for an admin's release."""
        query = (
            select(InstanceRow)
            .where(InstanceRow.quarantine_reason.is_not(None))
            .where(InstanceRow.released_at.is_(None))
            .order_by(InstanceRow.received_at)
        )
        with Session(self.engine) as session:
            return [instance_record(row) for row in session.execute(query).scalars()]

    def count_instances(self) -> int:
        """Number of stored instances, quarantined included."""
        with Session(self.engine) as session:
            return int(session.execute(select(func.count()).select_from(InstanceRow)).scalar_one())

    def sealed_links(self, patient_pseudonym: str) -> list[bytes]:
        """Sealed re-identification links of one pseudonym (readable only by hospital IT)."""
        query = select(ReidentificationLink.sealed).where(
            ReidentificationLink.patient_pseudonym == patient_pseudonym
        )
        with Session(self.engine) as session:
            return list(session.execute(query).scalars())

    # -- searching: the SQL lives in node.store.search ---------------------------------

    def search_studies(self, request: SearchRequest) -> list[StudyRecord]:
        """QIDO-RS study search."""
        return search.search_studies(self.engine, request)

    def search_series(self, request: SearchRequest) -> list[SeriesRecord]:
        """QIDO-RS series search (study attributes may be matched too)."""
        return search.search_series(self.engine, request)

    def search_instances(self, request: SearchRequest) -> list[tuple[InstanceRecord, SeriesRecord]]:
        """QIDO-RS instance search, each instance with its series and study."""
        return search.search_instances(self.engine, request)
