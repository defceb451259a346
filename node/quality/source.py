"""Reading one project's annotation work into :class:`~node.quality.data.ProjectData`.

Read-only SQLAlchemy Core/ORM selects over the annotation tables (no dialect
specific SQL), in one read transaction so the dashboard sees one consistent
state. Agreement figures and consensus come from each task's latest round.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from node.annotate.records import TaskSlice
from node.errors import NotFoundError
from node.quality.data import ConsensusLabel, PairResult, ProjectData, ReaderAnnotation, TaskState
from node.store.annotation_tables import (
    AgreementResultRow,
    AnnotationRevisionRow,
    AnnotationRow,
    ConsensusRow,
    GuidelineVersionRow,
    ProjectRow,
    TaskReaderRow,
    TaskRow,
)
from shared.schemas import Guideline

__all__ = ["load_project"]


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _guideline(row: GuidelineVersionRow) -> Guideline:
    return Guideline.model_validate(json.loads(row.content))


def load_project(engine: Engine, name: str) -> ProjectData:
    """Everything the dashboard needs of project ``name``.

    Raises
    ------
    NotFoundError
        When the node has no such project.
    """
    with Session(engine) as session, session.begin():
        project = session.execute(
            select(ProjectRow).where(ProjectRow.name == name)
        ).scalar_one_or_none()
        if project is None:
            raise NotFoundError(
                f"no project {name!r} on this node; GET /api/projects lists the projects"
            )
        versions = {row.id: row for row in session.execute(select(GuidelineVersionRow)).scalars()}
        current = _guideline(versions[project.guideline_version_id])
        keys = {vid: f"{row.name}@{row.version}" for vid, row in versions.items()}
        tasks = _tasks(session, project.id)
        pairs, used = _pairs(session, project.id, keys)
        guidelines = {keys[vid]: _guideline(versions[vid]) for vid in used}
        guidelines.setdefault(current.key, current)
        return ProjectData(
            name=project.name,
            guideline=current,
            guidelines=guidelines,
            tasks=tasks,
            pairs=pairs,
            annotations=_annotations(session, project.id),
            consensus=_consensus(session, project.id),
        )


def _tasks(session: Session, project_id: int) -> dict[int, TaskState]:
    readers: dict[int, list[str]] = {}
    for task_id, username in session.execute(
        select(TaskReaderRow.task_id, TaskReaderRow.username)
        .join(TaskRow, TaskRow.id == TaskReaderRow.task_id)
        .where(TaskRow.project_id == project_id)
        .order_by(TaskReaderRow.id)
    ):
        readers.setdefault(task_id, []).append(username)
    return {
        row.id: TaskState(
            id=row.id,
            status=row.status,
            round=row.round,
            readers=tuple(readers.get(row.id, ())),
            slices=tuple(TaskSlice.from_json(s) for s in json.loads(row.slices)),
            created_at=_aware(row.created_at),
            completed_at=_aware(row.completed_at) if row.completed_at else None,
        )
        for row in session.execute(
            select(TaskRow).where(TaskRow.project_id == project_id).order_by(TaskRow.id)
        ).scalars()
    }


def _pairs(
    session: Session, project_id: int, keys: dict[int, str]
) -> tuple[tuple[PairResult, ...], set[int]]:
    latest = (
        select(AgreementResultRow.task_id, func.max(AgreementResultRow.round).label("round"))
        .where(AgreementResultRow.project_id == project_id)
        .group_by(AgreementResultRow.task_id)
        .subquery()
    )
    rows = session.execute(
        select(AgreementResultRow)
        .join(
            latest,
            (latest.c.task_id == AgreementResultRow.task_id)
            & (latest.c.round == AgreementResultRow.round),
        )
        .where(AgreementResultRow.reader_a.is_not(None), AgreementResultRow.reader_b.is_not(None))
        .order_by(AgreementResultRow.id)
    ).scalars()
    pairs = []
    used: set[int] = set()
    for row in rows:
        used.add(row.guideline_version_id)
        pairs.append(
            PairResult(
                task_id=row.task_id,
                round=row.round,
                label=row.label,
                kind=row.kind,
                metric=row.metric,
                value=row.value,
                reader_a=row.reader_a or "",
                reader_b=row.reader_b or "",
                detail=json.loads(row.detail or "{}"),
                guideline_version=keys[row.guideline_version_id],
                measured_at=_aware(row.created_at),
            )
        )
    return tuple(pairs), used


def _annotations(session: Session, project_id: int) -> tuple[ReaderAnnotation, ...]:
    statement = (
        select(AnnotationRow, AnnotationRevisionRow)
        .join(
            AnnotationRevisionRow,
            (AnnotationRevisionRow.annotation_id == AnnotationRow.id)
            & (AnnotationRevisionRow.revision == AnnotationRow.head_revision),
        )
        .join(TaskRow, TaskRow.id == AnnotationRow.task_id)
        .where(TaskRow.project_id == project_id, AnnotationRow.deleted.is_(False))
        .order_by(AnnotationRow.id)
    )
    return tuple(
        ReaderAnnotation(
            annotation_id=annotation.id,
            task_id=annotation.task_id,
            reader=annotation.reader,
            label=annotation.label,
            kind=annotation.kind,
            payload=json.loads(revision.payload),
            updated_at=_aware(revision.created_at),
        )
        for annotation, revision in session.execute(statement)
    )


def _consensus(session: Session, project_id: int) -> tuple[ConsensusLabel, ...]:
    rows = session.execute(
        select(ConsensusRow, TaskRow.round)
        .join(TaskRow, TaskRow.id == ConsensusRow.task_id)
        .where(TaskRow.project_id == project_id, ConsensusRow.round == TaskRow.round)
        .order_by(ConsensusRow.task_id, ConsensusRow.label, ConsensusRow.id)
    )
    latest: dict[tuple[int, str], ConsensusRow] = {}
    for row, _ in rows:
        latest[(row.task_id, row.label)] = row  # an adjudication after a computed one wins
    return tuple(
        ConsensusLabel(row.task_id, row.label, row.method, json.loads(row.payload))
        for row in latest.values()
    )
