"""What an export reads: a project's tasks, each reader's annotations and the consensus.

Read-only queries over the annotation tables; the annotations come back as the
contract's JSON payloads (label, kind, geometry...), so the writers depend on
the payload format, not on the annotation domain's classes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from node.errors import NotFoundError
from node.store.annotation_tables import (
    AnnotationRevisionRow,
    AnnotationRow,
    ConsensusRow,
    GuidelineVersionRow,
    ProjectRow,
    TaskRow,
)

__all__ = [
    "CONSENSUS",
    "Contribution",
    "LabelInfo",
    "ProjectContent",
    "SliceRef",
    "TaskContent",
    "load_project",
]

CONSENSUS = "consensus"
"""The name under which a task's consensus is exported, beside its readers' user names."""


@dataclass(frozen=True)
class SliceRef:
    """One slice of a task, in the task's slice order (``frame``: 1-based, multi-frame only)."""

    index: int
    sop_instance_uid: str
    rows: int
    columns: int
    frame: int | None = None


@dataclass(frozen=True)
class LabelInfo:
    """A guideline label as the export needs it."""

    name: str
    kind: str


@dataclass(frozen=True)
class Contribution:
    """The annotations of one reader, or the consensus, on one task.

    ``methods`` maps each label of a consensus to how it was reached
    (``staple``, ``majority``, ``cluster-majority``, ``adjudicated``...); it is
    empty for a reader.
    """

    who: str
    payloads: tuple[dict[str, Any], ...]
    is_consensus: bool = False
    methods: dict[str, str] = field(default_factory=dict)

    def method_of(self, labels: Iterable[str]) -> str:
        """How the consensus of ``labels`` was reached (``+``-joined when they differ)."""
        return "+".join(sorted({self.methods[label] for label in labels if label in self.methods}))


@dataclass(frozen=True)
class TaskContent:
    """One task: its series, slices, and everything drawn on it."""

    task_id: int
    series_instance_uid: str
    study_instance_uid: str
    status: str
    slices: tuple[SliceRef, ...]
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True)
class ProjectContent:
    """A project ready to export."""

    name: str
    guideline_name: str
    guideline_version: str
    labels: tuple[LabelInfo, ...]
    tasks: tuple[TaskContent, ...] = field(default=())


def load_project(engine: Engine, name: str) -> ProjectContent:
    """Read project ``name``: per task, each reader's live annotations and the consensus.

    Readers' annotations are their head revisions, deleted ones left out; the
    consensus is the task's current round, an adjudication replacing a computed
    consensus of the same label.

    Raises
    ------
    NotFoundError
        When there is no such project.
    """
    with Session(engine) as session:
        project = session.execute(
            select(ProjectRow).where(ProjectRow.name == name)
        ).scalar_one_or_none()
        if project is None:
            raise NotFoundError(
                f"no project {name!r} on this node; list projects with GET /api/projects"
            )
        guideline = session.get(GuidelineVersionRow, project.guideline_version_id)
        content = json.loads(guideline.content) if guideline is not None else {}
        labels = tuple(
            LabelInfo(name=str(item["name"]), kind=str(item["kind"]))
            for item in content.get("labels", [])
        )
        tasks = session.execute(
            select(TaskRow).where(TaskRow.project_id == project.id).order_by(TaskRow.id)
        ).scalars()
        return ProjectContent(
            name=project.name,
            guideline_name=guideline.name if guideline is not None else "",
            guideline_version=guideline.version if guideline is not None else "",
            labels=labels,
            tasks=tuple(_task(session, task) for task in tasks),
        )


def _task(session: Session, task: TaskRow) -> TaskContent:
    slices = tuple(
        SliceRef(
            index=int(item["index"]),
            sop_instance_uid=str(item["sop_instance_uid"]),
            rows=int(item["rows"]),
            columns=int(item["columns"]),
            frame=int(item["frame"]) if item.get("frame") is not None else None,
        )
        for item in json.loads(task.slices)
    )
    return TaskContent(
        task_id=task.id,
        series_instance_uid=task.series_instance_uid,
        study_instance_uid=task.study_instance_uid,
        status=task.status,
        slices=tuple(sorted(slices, key=lambda s: s.index)),
        contributions=(*_readers(session, task.id), *_consensus(session, task)),
    )


def _readers(session: Session, task_id: int) -> Iterator[Contribution]:
    rows = session.execute(
        select(AnnotationRow.reader, AnnotationRevisionRow.payload)
        .join(
            AnnotationRevisionRow,
            (AnnotationRevisionRow.annotation_id == AnnotationRow.id)
            & (AnnotationRevisionRow.revision == AnnotationRow.head_revision),
        )
        .where(AnnotationRow.task_id == task_id, AnnotationRow.deleted.is_(False))
        .order_by(AnnotationRow.reader, AnnotationRow.id)
    ).all()
    by_reader: dict[str, list[dict[str, Any]]] = {}
    for reader, payload in rows:
        by_reader.setdefault(reader, []).append(json.loads(payload))
    for reader, payloads in by_reader.items():
        yield Contribution(who=reader, payloads=tuple(payloads))


def _consensus(session: Session, task: TaskRow) -> Iterator[Contribution]:
    rows = session.execute(
        select(ConsensusRow)
        .where(ConsensusRow.task_id == task.id, ConsensusRow.round == task.round)
        .order_by(ConsensusRow.label, ConsensusRow.id)
    ).scalars()
    latest: dict[str, ConsensusRow] = {}
    for row in rows:
        latest[row.label] = row
    if not latest:
        return
    payloads: list[dict[str, Any]] = []
    for row in latest.values():
        payloads.extend(json.loads(row.payload).get("annotations", []))
    yield Contribution(
        who=CONSENSUS,
        payloads=tuple(payloads),
        is_consensus=True,
        methods={label: row.method for label, row in latest.items()},
    )
