"""Reads shared by the annotation services: tasks, reader parts, annotations, results.

Each function takes an open session, so callers compose them inside one
transaction and never see a half-applied action.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.annotate.records import (
    AgreementFigure,
    AnnotationRecord,
    ConsensusRecord,
    ReaderPart,
    ReaderStatus,
    ReviewStatus,
    TaskRecord,
    TaskSlice,
    TaskStatus,
)
from node.errors import NotFoundError
from node.store.annotation_tables import (
    AgreementResultRow,
    AnnotationRevisionRow,
    AnnotationRow,
    ConsensusRow,
    ProjectMemberRow,
    ProjectRow,
    TaskReaderRow,
    TaskRow,
)

__all__ = [
    "agreement_figures",
    "annotation_row",
    "annotations_of",
    "consensus_of",
    "is_reviewer",
    "reader_part",
    "task_record",
    "task_records",
    "task_row",
]


def task_row(session: Session, task_id: int) -> TaskRow:
    """The task's row, or :class:`NotFoundError`."""
    row = session.get(TaskRow, task_id)
    if row is None:
        raise NotFoundError(f"no task {task_id} on this node")
    return row


def _part(row: TaskReaderRow) -> ReaderPart:
    return ReaderPart(
        username=row.username,
        status=ReaderStatus(row.status),
        review_status=ReviewStatus(row.review_status),
        review_reason=row.review_reason,
        reviewed_by=row.reviewed_by,
        reviewed_at=row.reviewed_at,
        completed_at=row.completed_at,
    )


def task_records(session: Session, rows: Iterable[TaskRow]) -> list[TaskRecord]:
    """Records of several tasks, their readers and projects read in two queries."""
    rows = list(rows)
    if not rows:
        return []
    ids = [row.id for row in rows]
    parts: dict[int, list[ReaderPart]] = {i: [] for i in ids}
    for part in session.execute(
        select(TaskReaderRow).where(TaskReaderRow.task_id.in_(ids)).order_by(TaskReaderRow.id)
    ).scalars():
        parts[part.task_id].append(_part(part))
    projects = {
        p.id: p
        for p in session.execute(
            select(ProjectRow).where(ProjectRow.id.in_({row.project_id for row in rows}))
        ).scalars()
    }
    return [
        TaskRecord(
            id=row.id,
            project=projects[row.project_id].name,
            project_id=row.project_id,
            series_instance_uid=row.series_instance_uid,
            study_instance_uid=row.study_instance_uid,
            modality=row.modality,
            description=row.description,
            slices=tuple(TaskSlice.from_json(s) for s in json.loads(row.slices)),
            status=TaskStatus(row.status),
            priority=row.priority,
            round=row.round,
            readers=tuple(parts[row.id]),
            guideline_version_id=projects[row.project_id].guideline_version_id,
            created_at=row.created_at,
            completed_at=row.completed_at,
        )
        for row in rows
    ]


def task_record(session: Session, task_id: int) -> TaskRecord:
    """One task's record, or :class:`NotFoundError`."""
    return task_records(session, [task_row(session, task_id)])[0]


def reader_part(session: Session, task_id: int, username: str) -> TaskReaderRow | None:
    """The reader part row of ``username`` in the task, if assigned."""
    return session.execute(
        select(TaskReaderRow).where(
            TaskReaderRow.task_id == task_id, TaskReaderRow.username == username
        )
    ).scalar_one_or_none()


def is_reviewer(session: Session, project_id: int, username: str) -> bool:
    """Whether ``username`` is a listed reviewer of the project."""
    return (
        session.execute(
            select(ProjectMemberRow.username).where(
                ProjectMemberRow.project_id == project_id,
                ProjectMemberRow.username == username,
                ProjectMemberRow.role == "reviewer",
            )
        ).first()
        is not None
    )


def annotation_row(session: Session, annotation_id: int) -> AnnotationRow:
    """The annotation's row, or :class:`NotFoundError`."""
    row = session.get(AnnotationRow, annotation_id)
    if row is None:
        raise NotFoundError(f"no annotation {annotation_id} on this node")
    return row


def annotations_of(
    session: Session,
    task_id: int,
    *,
    reader: str | None = None,
    label: str | None = None,
    include_deleted: bool = False,
) -> list[AnnotationRecord]:
    """Annotations of a task at their head revision (one reader's or everyone's, one label's)."""
    statement = (
        select(AnnotationRow, AnnotationRevisionRow)
        .join(
            AnnotationRevisionRow,
            (AnnotationRevisionRow.annotation_id == AnnotationRow.id)
            & (AnnotationRevisionRow.revision == AnnotationRow.head_revision),
        )
        .where(AnnotationRow.task_id == task_id)
        .order_by(AnnotationRow.id)
    )
    if reader is not None:
        statement = statement.where(AnnotationRow.reader == reader)
    if label is not None:
        statement = statement.where(AnnotationRow.label == label)
    if not include_deleted:
        statement = statement.where(AnnotationRow.deleted.is_(False))
    return [
        AnnotationRecord(
            annotation_id=annotation.id,
            task_id=annotation.task_id,
            reader=annotation.reader,
            label=annotation.label,
            kind=annotation.kind,
            revision=revision.revision,
            payload=json.loads(revision.payload),
            author=revision.author,
            created_at=annotation.created_at,
            updated_at=revision.created_at,
            deleted=annotation.deleted,
            guideline_version_id=revision.guideline_version_id,
        )
        for annotation, revision in session.execute(statement)
    ]


def consensus_of(session: Session, task: TaskRow) -> list[ConsensusRecord]:
    """The consensus of the task's current round, one record per label."""
    rows = session.execute(
        select(ConsensusRow)
        .where(ConsensusRow.task_id == task.id, ConsensusRow.round == task.round)
        .order_by(ConsensusRow.label, ConsensusRow.id)
    ).scalars()
    latest: dict[str, ConsensusRow] = {}
    for row in rows:
        latest[row.label] = row  # an adjudication after a computed consensus wins
    return [
        ConsensusRecord(
            task_id=row.task_id,
            round=row.round,
            label=row.label,
            method=row.method,
            payload=json.loads(row.payload),
            created_by=row.created_by,
            created_at=row.created_at,
        )
        for row in latest.values()
    ]


def agreement_figures(session: Session, task: TaskRow) -> list[AgreementFigure]:
    """The agreement figures stored for the task's current round."""
    rows = session.execute(
        select(AgreementResultRow)
        .where(AgreementResultRow.task_id == task.id, AgreementResultRow.round == task.round)
        .order_by(AgreementResultRow.id)
    ).scalars()
    return [
        AgreementFigure(
            label=row.label,
            kind=row.kind,
            metric=row.metric,
            value=row.value,
            readers=tuple(json.loads(row.readers)),
            detail=json.loads(row.detail),
        )
        for row in rows
    ]
