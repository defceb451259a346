"""Study, series and instance searches (QIDO-RS matching) translated to SQL.

The store's write path lives in :mod:`node.store.instance_store`; this module
only reads: it turns storage-neutral :class:`Match` criteria into SQL and rows
into the frozen records callers get.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, and_, distinct, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from node.errors import QueryError
from node.store.criteria import Level, Match, MatchKind, SearchRequest
from node.store.records import InstanceRecord, SeriesRecord, StudyRecord
from node.store.schema import InstanceRow, SeriesRow, StudyRow

__all__ = [
    "instance_record",
    "search_instances",
    "search_series",
    "search_studies",
    "searchable_keywords",
    "visible",
]

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


def visible(include_quarantined: bool) -> ColumnElement[bool]:
    """The condition an instance row must meet to be shown (released or never held)."""
    if include_quarantined:
        return and_(True)
    return or_(InstanceRow.quarantine_reason.is_(None), InstanceRow.released_at.is_not(None))


def search_studies(engine: Engine, request: SearchRequest) -> list[StudyRecord]:
    """QIDO-RS study search."""
    shown = visible(request.include_quarantined)
    counts = (
        select(
            InstanceRow.study_instance_uid.label("uid"),
            func.count(InstanceRow.sop_instance_uid).label("instances"),
            func.count(distinct(InstanceRow.series_instance_uid)).label("series"),
        )
        .where(shown)
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
    with Session(engine) as session:
        rows = session.execute(query).all()
        modalities = _modalities(session, [row[0].study_instance_uid for row in rows])
    return [_study_record(row[0], modalities, row[1], row[2]) for row in rows]


def search_series(engine: Engine, request: SearchRequest) -> list[SeriesRecord]:
    """QIDO-RS series search (study attributes may be matched too)."""
    counts = (
        select(
            InstanceRow.series_instance_uid.label("uid"),
            func.count(InstanceRow.sop_instance_uid).label("instances"),
        )
        .where(visible(request.include_quarantined))
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
        query.order_by(StudyRow.study_date, SeriesRow.series_number, SeriesRow.series_instance_uid),
        request,
    )
    with Session(engine) as session:
        rows = session.execute(query).all()
        modalities = _modalities(session, [row[1].study_instance_uid for row in rows])
    return [
        _series_record(series, _study_record(study, modalities, 0, 0), n)
        for series, study, n in rows
    ]


def search_instances(
    engine: Engine, request: SearchRequest
) -> list[tuple[InstanceRecord, SeriesRecord]]:
    """QIDO-RS instance search, each instance with its series and study."""
    query = (
        select(InstanceRow, SeriesRow, StudyRow)
        .join(SeriesRow, SeriesRow.series_instance_uid == InstanceRow.series_instance_uid)
        .join(StudyRow, StudyRow.study_instance_uid == InstanceRow.study_instance_uid)
        .where(visible(request.include_quarantined))
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
    with Session(engine) as session:
        rows = session.execute(query).all()
    return [
        (
            instance_record(instance),
            _series_record(series, _study_record(study, {}, 0, 0), 0),
        )
        for instance, series, study in rows
    ]


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


def instance_record(row: InstanceRow) -> InstanceRecord:
    """A frozen record of an instance row, safe to use after its session closed."""
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
