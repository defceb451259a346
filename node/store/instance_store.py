"""The instance store: SQL rows plus content-addressed files, written as one.

An instance is stored whole or not at all. Its file is written first
(atomically, under its SHA-256), then its rows commit in one transaction. A
crash between the two leaves only an unreferenced file, which
:meth:`InstanceStore.sweep_orphans` removes at the next start.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, bindparam, distinct, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from node.errors import NotFoundError, QueryError, StoreError
from node.store.blobs import BlobStore
from node.store.criteria import Level, Match, MatchKind, SearchRequest
from node.store.records import (
    InstanceAttributes,
    InstanceRecord,
    PutStatus,
    SeriesRecord,
    StudyRecord,
)
from node.store.schema import Base, InstanceRow, ReidentificationLink, SeriesRow, StudyRow

__all__ = ["InstanceStore"]

_STUDY_KEYS: dict[str, InstrumentedAttribute[Any]] = {
    "StudyInstanceUID": StudyRow.study_instance_uid,
    "PatientID": StudyRow.patient_id,
    "PatientName": StudyRow.patient_name,
    "PatientBirthDate": StudyRow.patient_birth_date,
    "PatientSex": StudyRow.patient_sex,
    "StudyDate": StudyRow.study_date,
    "StudyTime": StudyRow.study_time,
    "AccessionNumber": StudyRow.accession_number,
    "StudyID": StudyRow.study_id,
    "StudyDescription": StudyRow.study_description,
    "ReferringPhysicianName": StudyRow.referring_physician_name,
}
_SERIES_KEYS: dict[str, InstrumentedAttribute[Any]] = {
    "SeriesInstanceUID": SeriesRow.series_instance_uid,
    "Modality": SeriesRow.modality,
    "SeriesNumber": SeriesRow.series_number,
    "SeriesDescription": SeriesRow.series_description,
    "BodyPartExamined": SeriesRow.body_part_examined,
    "PerformedProcedureStepStartDate": SeriesRow.performed_procedure_step_start_date,
}
_INSTANCE_KEYS: dict[str, InstrumentedAttribute[Any]] = {
    "SOPInstanceUID": InstanceRow.sop_instance_uid,
    "SOPClassUID": InstanceRow.sop_class_uid,
    "InstanceNumber": InstanceRow.instance_number,
    "Rows": InstanceRow.rows,
    "Columns": InstanceRow.columns,
    "BitsAllocated": InstanceRow.bits_allocated,
    "NumberOfFrames": InstanceRow.number_of_frames,
}
_INTEGER_KEYS = {
    "SeriesNumber",
    "InstanceNumber",
    "Rows",
    "Columns",
    "BitsAllocated",
    "NumberOfFrames",
}
_CASE_INSENSITIVE_KEYS = {"PatientName", "ReferringPhysicianName"}
_LEVEL_KEYS = {
    Level.STUDY: _STUDY_KEYS,
    Level.SERIES: {**_STUDY_KEYS, **_SERIES_KEYS},
    Level.INSTANCE: {**_STUDY_KEYS, **_SERIES_KEYS, **_INSTANCE_KEYS},
}


def searchable_keywords(level: Level) -> frozenset[str]:
    """Return the attribute keywords a search at ``level`` can match on."""
    extra = {"ModalitiesInStudy"} if level is Level.STUDY else set()
    return frozenset(_LEVEL_KEYS[level]) | extra


def _now() -> datetime:
    return datetime.now(UTC)


def _visible(include_quarantined: bool) -> ColumnElement[bool]:
    if include_quarantined:
        return and_(True)
    return or_(InstanceRow.quarantine_reason.is_(None), InstanceRow.released_at.is_not(None))


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
        data: bytes,
        *,
        source: str,
        quarantine_reason: str | None = None,
        sealed_link: tuple[str, bytes] | None = None,
    ) -> str:
        """Store one instance file and its rows atomically.

        Returns :attr:`PutStatus.STORED`, or :attr:`PutStatus.DUPLICATE` when
        the SOP Instance UID was already stored (the first copy is kept).
        ``sealed_link`` is ``(patient_pseudonym, sealed_bytes)`` for the
        optional re-identification link.
        """
        digest = self.blobs.put(data)
        now = _now()
        a = attributes
        try:
            # Core statements built once per store: ingest is the hot path, and
            # the ORM's per-call statement construction cost more than SQLite did.
            with self._write_lock, self.engine.begin() as connection:
                connection.execute(
                    self._insert_study,
                    {
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
                )
                connection.execute(
                    self._insert_series,
                    {
                        "series_instance_uid": a.series_instance_uid,
                        "study_instance_uid": a.study_instance_uid,
                        "modality": a.modality,
                        "series_number": a.series_number,
                        "series_description": a.series_description,
                        "body_part_examined": a.body_part_examined,
                        "performed_procedure_step_start_date": (
                            a.performed_procedure_step_start_date
                        ),
                        "frame_of_reference_uid": a.frame_of_reference_uid,
                        "created_at": now,
                    },
                )
                inserted = connection.execute(
                    self._insert_instance,
                    {
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
                        "size_bytes": len(data),
                        "source": source[:256],
                        "received_at": now,
                        "quarantine_reason": quarantine_reason,
                        "released_at": None,
                        "released_by": None,
                    },
                ).rowcount
                if inserted and sealed_link is not None:
                    connection.execute(
                        self._insert_link,
                        {
                            "patient_pseudonym": sealed_link[0],
                            "study_instance_uid": a.study_instance_uid,
                            "sealed": sealed_link[1],
                            "created_at": now,
                        },
                    )
        except Exception as exc:
            self._discard_unreferenced(digest)
            raise StoreError(
                f"could not record instance {a.sop_instance_uid}: {exc}; nothing was stored"
            ) from exc
        if not inserted:
            self._discard_unreferenced(digest)
            return PutStatus.DUPLICATE
        return PutStatus.STORED

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
            return _instance_record(row)

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
            .where(_visible(include_quarantined))
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
        return [_instance_record(row) for row in rows]

    def count_series_instances(self, series_instance_uid: str, *, include_quarantined: bool) -> int:
        """Number of visible instances of a series: a cheap version key for caches."""
        query = (
            select(func.count())
            .select_from(InstanceRow)
            .where(InstanceRow.series_instance_uid == series_instance_uid)
            .where(_visible(include_quarantined))
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
            return [_instance_record(row) for row in session.execute(query).scalars()]

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

    # -- searching -------------------------------------------------------------------

    def search_studies(self, request: SearchRequest) -> list[StudyRecord]:
        """QIDO-RS study search."""
        visible = _visible(request.include_quarantined)
        counts = (
            select(
                InstanceRow.study_instance_uid.label("uid"),
                func.count(InstanceRow.sop_instance_uid).label("instances"),
                func.count(distinct(InstanceRow.series_instance_uid)).label("series"),
            )
            .where(visible)
            .group_by(InstanceRow.study_instance_uid)
            .subquery()
        )
        query = select(StudyRow, counts.c.instances, counts.c.series).join(
            counts, counts.c.uid == StudyRow.study_instance_uid
        )
        for match in request.matches:
            if match.keyword == "ModalitiesInStudy":
                query = query.where(
                    exists()
                    .where(SeriesRow.study_instance_uid == StudyRow.study_instance_uid)
                    .where(_condition(SeriesRow.modality, match, "Modality"))
                )
            else:
                query = query.where(_condition(_column(Level.STUDY, match), match, match.keyword))
        query = _page(query.order_by(StudyRow.study_date, StudyRow.study_instance_uid), request)
        with Session(self.engine) as session:
            rows = session.execute(query).all()
            modalities = self._modalities(session, [row[0].study_instance_uid for row in rows])
        return [_study_record(row[0], modalities, row[1], row[2]) for row in rows]

    def search_series(self, request: SearchRequest) -> list[SeriesRecord]:
        """QIDO-RS series search (study attributes may be matched too)."""
        counts = (
            select(
                InstanceRow.series_instance_uid.label("uid"),
                func.count(InstanceRow.sop_instance_uid).label("instances"),
            )
            .where(_visible(request.include_quarantined))
            .group_by(InstanceRow.series_instance_uid)
            .subquery()
        )
        query = (
            select(SeriesRow, StudyRow, counts.c.instances)
            .join(counts, counts.c.uid == SeriesRow.series_instance_uid)
            .join(StudyRow, StudyRow.study_instance_uid == SeriesRow.study_instance_uid)
        )
        for match in request.matches:
            query = query.where(_condition(_column(Level.SERIES, match), match, match.keyword))
        query = _page(
            query.order_by(
                StudyRow.study_date, SeriesRow.series_number, SeriesRow.series_instance_uid
            ),
            request,
        )
        with Session(self.engine) as session:
            rows = session.execute(query).all()
            modalities = self._modalities(session, [row[1].study_instance_uid for row in rows])
        return [
            _series_record(series, _study_record(study, modalities, 0, 0), n)
            for series, study, n in rows
        ]

    def search_instances(self, request: SearchRequest) -> list[tuple[InstanceRecord, SeriesRecord]]:
        """QIDO-RS instance search, each instance with its series and study."""
        query = (
            select(InstanceRow, SeriesRow, StudyRow)
            .join(SeriesRow, SeriesRow.series_instance_uid == InstanceRow.series_instance_uid)
            .join(StudyRow, StudyRow.study_instance_uid == InstanceRow.study_instance_uid)
            .where(_visible(request.include_quarantined))
        )
        for match in request.matches:
            query = query.where(_condition(_column(Level.INSTANCE, match), match, match.keyword))
        query = _page(
            query.order_by(
                SeriesRow.series_instance_uid,
                InstanceRow.instance_number,
                InstanceRow.sop_instance_uid,
            ),
            request,
        )
        with Session(self.engine) as session:
            rows = session.execute(query).all()
        return [
            (
                _instance_record(instance),
                _series_record(series, _study_record(study, {}, 0, 0), 0),
            )
            for instance, series, study in rows
        ]

    @staticmethod
    def _modalities(session: Session, study_uids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        if not study_uids:
            return {}
        query = (
            select(SeriesRow.study_instance_uid, SeriesRow.modality)
            .where(SeriesRow.study_instance_uid.in_(study_uids))
            .distinct()
        )
        found: dict[str, set[str]] = {}
        for uid, modality in session.execute(query):
            if modality:
                found.setdefault(uid, set()).add(modality)
        return {uid: tuple(sorted(values)) for uid, values in found.items()}


def _column(level: Level, match: Match) -> InstrumentedAttribute[Any]:
    try:
        return _LEVEL_KEYS[level][match.keyword]
    except KeyError:
        raise QueryError(
            f"{match.keyword} is not a matching key at the {level} level; "
            f"use one of: {', '.join(sorted(searchable_keywords(level)))}",
            parameter=match.keyword,
        ) from None


def _coerce(keyword: str, value: str) -> str | int:
    if keyword not in _INTEGER_KEYS:
        return value
    try:
        return int(value)
    except ValueError:
        raise QueryError(
            f"{keyword} must be an integer, got {value!r}", parameter=keyword
        ) from None


def _condition(
    column: InstrumentedAttribute[Any], match: Match, keyword: str
) -> ColumnElement[bool]:
    kind = match.kind
    if kind is MatchKind.UID_LIST:
        return column.in_([_coerce(keyword, v) for v in match.values])
    if kind is MatchKind.RANGE:
        low, high = match.values
        conditions = []
        if low:
            conditions.append(column >= _coerce(keyword, low))
        if high:
            conditions.append(column <= _coerce(keyword, high))
        return and_(True, *conditions)
    if kind is MatchKind.WILDCARD:
        pattern = (
            match.values[0]
            .replace("\\", "\\\\")
            .replace("%", "\\%")
            .replace("_", "\\_")
            .replace("*", "%")
            .replace("?", "_")
        )
        if keyword in _CASE_INSENSITIVE_KEYS:
            return column.ilike(pattern, escape="\\")
        return column.like(pattern, escape="\\")
    value = _coerce(keyword, match.values[0])
    if keyword in _CASE_INSENSITIVE_KEYS and isinstance(value, str):
        return func.lower(column) == value.lower()
    return column == value


def _page(query: Any, request: SearchRequest) -> Any:
    if request.offset:
        query = query.offset(request.offset)
    if request.limit is not None:
        query = query.limit(request.limit)
    return query


def _study_record(
    row: StudyRow, modalities: dict[str, tuple[str, ...]], instances: int, series: int
) -> StudyRecord:
    return StudyRecord(
        study_instance_uid=row.study_instance_uid,
        patient_id=row.patient_id,
        patient_name=row.patient_name,
        patient_birth_date=row.patient_birth_date,
        patient_sex=row.patient_sex,
        study_date=row.study_date,
        study_time=row.study_time,
        accession_number=row.accession_number,
        study_id=row.study_id,
        study_description=row.study_description,
        referring_physician_name=row.referring_physician_name,
        modalities_in_study=modalities.get(row.study_instance_uid, ()),
        number_of_series=int(series or 0),
        number_of_instances=int(instances or 0),
    )


def _series_record(row: SeriesRow, study: StudyRecord, instances: int) -> SeriesRecord:
    return SeriesRecord(
        study=study,
        series_instance_uid=row.series_instance_uid,
        modality=row.modality,
        series_number=row.series_number,
        series_description=row.series_description,
        body_part_examined=row.body_part_examined,
        performed_procedure_step_start_date=row.performed_procedure_step_start_date,
        frame_of_reference_uid=row.frame_of_reference_uid,
        number_of_instances=int(instances or 0),
    )


def _instance_record(row: InstanceRow) -> InstanceRecord:
    return InstanceRecord(
        sop_instance_uid=row.sop_instance_uid,
        series_instance_uid=row.series_instance_uid,
        study_instance_uid=row.study_instance_uid,
        sop_class_uid=row.sop_class_uid,
        transfer_syntax_uid=row.transfer_syntax_uid,
        instance_number=row.instance_number,
        rows=row.rows,
        columns=row.columns,
        bits_allocated=row.bits_allocated,
        number_of_frames=row.number_of_frames,
        content_sha256=row.content_sha256,
        size_bytes=row.size_bytes,
        source=row.source,
        received_at=row.received_at,
        quarantine_reason=row.quarantine_reason,
        released_at=row.released_at,
        released_by=row.released_by,
    )
