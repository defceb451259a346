"""Tasks: worklists, the task view with blinding, and completing a reader's part.

Lifecycle of a task (``tasks.status``) and of each reader's part::

    task   open ──(last reader completes)──► adjudication ──(adjudicator)──► consensus
                                        └──► consensus (agreement ≥ every threshold)
           any ──(a reviewer rejects a part)──► open
    reader assigned ─(first save)─► in_progress ─(complete)─► done ─(reject)─► rejected
           rejected ─(complete)─► done

When the last reader completes, the round's agreement figures are stored per
label and reader pair; if any label is below its ``adjudication_threshold``
the task waits for an adjudicator, otherwise the consensus of every label is
computed and stored with its method.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from node.annotate.access import require_viewer, sees_everyone
from node.annotate.agreement import measure_agreement
from node.annotate.consensus import build_consensus
from node.annotate.guidelines import GuidelineRegistry
from node.annotate.queries import (
    agreement_figures,
    annotations_of,
    consensus_of,
    reader_part,
    task_record,
    task_records,
    task_row,
)
from node.annotate.records import (
    AgreementFigure,
    AnnotationRecord,
    ConsensusRecord,
    GuidelineVersion,
    ReaderStatus,
    ReviewStatus,
    TaskRecord,
    TaskStatus,
    WorklistItem,
)
from node.annotate.unit_of_work import UnitOfWork
from node.auth.roles import Principal
from node.errors import MissingRequiredLabelsError, NotAssignedError, QueryError, TaskStateError
from node.store.annotation_tables import (
    AgreementResultRow,
    AnnotationRow,
    ConsensusRow,
    ProjectRow,
    TaskReaderRow,
    TaskRow,
)

__all__ = ["TaskService", "TaskView", "Worklist", "consensus_row"]


@dataclass(frozen=True)
class TaskView:
    """What a caller may see of a task."""

    task: TaskRecord
    guideline: GuidelineVersion
    annotations: tuple[AnnotationRecord, ...]
    blinded: bool
    my_status: ReaderStatus | None
    review_reason: str


@dataclass(frozen=True)
class Worklist:
    """A reader's tasks and progress."""

    items: tuple[WorklistItem, ...]
    done: int
    total: int


_SORTS = ("priority", "id", "status")


class TaskService:
    """Worklists, task views and completion."""

    def __init__(self, work: UnitOfWork, guidelines: GuidelineRegistry) -> None:
        self._work = work
        self._guidelines = guidelines

    # -- worklist ------------------------------------------------------------------

    def worklist(
        self,
        username: str,
        *,
        project: str | None = None,
        status: str | None = None,
        sort: str = "priority",
    ) -> Worklist:
        """The tasks ``username`` reads, with progress over the project filter.

        ``status`` matches the task's status or the reader's own status.
        ``sort`` is ``priority`` (highest first), ``id`` or ``status``.
        """
        if sort not in _SORTS:
            raise QueryError(
                f"sort must be one of {', '.join(_SORTS)}; got {sort!r}", parameter="sort"
            )
        with self._work.read() as session:
            statement = (
                select(TaskRow, TaskReaderRow)
                .join(TaskReaderRow, TaskReaderRow.task_id == TaskRow.id)
                .join(ProjectRow, ProjectRow.id == TaskRow.project_id)
                .where(TaskReaderRow.username == username)
            )
            if project:
                statement = statement.where(ProjectRow.name == project)
            rows = [(t, p) for t, p in session.execute(statement).all()]
            done = sum(1 for _, part in rows if part.status == ReaderStatus.DONE)
            total = len(rows)
            if status:
                rows = [(t, p) for t, p in rows if status in (t.status, p.status)]
            counts = dict(
                session.execute(
                    select(AnnotationRow.task_id, func.count())
                    .where(
                        AnnotationRow.reader == username,
                        AnnotationRow.deleted.is_(False),
                        AnnotationRow.task_id.in_([t.id for t, _ in rows]),
                    )
                    .group_by(AnnotationRow.task_id)
                ).all()
            )
            records = {r.id: r for r in task_records(session, [t for t, _ in rows])}
            items = [
                WorklistItem(
                    task=records[t.id],
                    my_status=ReaderStatus(p.status),
                    my_annotations=int(counts.get(t.id, 0)),
                    review_status=ReviewStatus(p.review_status),
                    review_reason=p.review_reason,
                )
                for t, p in rows
            ]
        open_first = {
            ReaderStatus.REJECTED: 0,
            ReaderStatus.IN_PROGRESS: 1,
            ReaderStatus.ASSIGNED: 2,
        }
        if sort == "priority":
            items.sort(key=lambda i: (open_first.get(i.my_status, 3), -i.task.priority, i.task.id))
        elif sort == "status":
            items.sort(key=lambda i: (i.my_status.value, i.task.id))
        else:
            items.sort(key=lambda i: i.task.id)
        return Worklist(tuple(items), done, total)

    # -- one task ------------------------------------------------------------------

    def view(self, task_id: int, principal: Principal) -> TaskView:
        """The task as ``principal`` may see it (blinded for readers of an open task).

        Records a ``viewed`` audit entry.
        """
        with self._work.write() as session:
            row = task_row(session, task_id)
            require_viewer(session, principal, row)
            task = task_record(session, task_id)
            everyone = sees_everyone(session, principal, row)
            annotations = annotations_of(
                session, task_id, reader=None if everyone else principal.username
            )
            part = task.part(principal.username)
            guideline = self._guidelines.by_id(session, task.guideline_version_id)
            self._work.record(
                session,
                actor=principal.username,
                action="viewed",
                target_type="task",
                target_id=task_id,
                detail={"blinded": not everyone},
            )
            return TaskView(
                task=task,
                guideline=guideline,
                annotations=tuple(annotations),
                blinded=not everyone,
                my_status=part.status if part else None,
                review_reason=part.review_reason if part else "",
            )

    def record(self, task_id: int) -> TaskRecord:
        """The task's record (no access check: for building responses after one)."""
        with self._work.read() as session:
            return task_record(session, task_id)

    def set_priority(self, task_id: int, priority: int, *, actor: str) -> TaskRecord:
        """Change a task's priority (higher comes first in worklists)."""
        with self._work.write() as session:
            row = task_row(session, task_id)
            row.priority = priority
            self._work.record(
                session,
                actor=actor,
                action="changed",
                target_type="task",
                target_id=task_id,
                detail={"priority": priority},
            )
            session.flush()
            return task_record(session, task_id)

    def consensus(self, task_id: int, principal: Principal) -> list[ConsensusRecord]:
        """The task's current consensus, once blinding has lifted for the caller."""
        with self._work.read() as session:
            row = task_row(session, task_id)
            require_viewer(session, principal, row)
            if row.status == TaskStatus.OPEN or not sees_everyone(session, principal, row):
                raise TaskStateError(
                    f"task {task_id} is still open; its consensus exists once every reader "
                    "has completed it"
                )
            return consensus_of(session, row)

    def agreement(self, task_id: int, principal: Principal) -> list[AgreementFigure]:
        """The agreement figures of the task's current round (blinding applies)."""
        with self._work.read() as session:
            row = task_row(session, task_id)
            require_viewer(session, principal, row)
            if not sees_everyone(session, principal, row):
                return []
            return agreement_figures(session, row)

    # -- completing ----------------------------------------------------------------

    def complete(self, task_id: int, reader: str) -> TaskRecord:
        """Mark ``reader``'s part done; closes the round when every reader is done.

        Raises
        ------
        MissingRequiredLabelsError
            Naming the required labels the reader has not given.
        TaskStateError
            When the part is already done.
        """
        with self._work.write() as session:
            row = task_row(session, task_id)
            part = reader_part(session, task_id, reader)
            if part is None:
                raise NotAssignedError(f"you are not a reader of task {task_id}")
            if part.status == ReaderStatus.DONE or row.status != TaskStatus.OPEN:
                raise TaskStateError(f"you have already completed task {task_id}")
            task = task_record(session, task_id)
            guideline = self._guidelines.by_id(session, task.guideline_version_id).guideline
            mine = annotations_of(session, task_id, reader=reader)
            given = {a.label for a in mine}
            missing = tuple(name for name in guideline.required_labels if name not in given)
            if missing:
                raise MissingRequiredLabelsError(
                    f"task {task_id} still needs the required label(s) {', '.join(missing)}; "
                    "annotate them (or mark them 'cannot assess') before completing",
                    missing=missing,
                )
            now = self._work.now()
            part.status = ReaderStatus.DONE.value
            part.completed_at = now
            part.review_status = ReviewStatus.PENDING.value
            session.flush()
            self._work.record(
                session,
                actor=reader,
                action="changed",
                target_type="task",
                target_id=task_id,
                detail={"reader_status": "done"},
            )
            parts = (
                session.execute(select(TaskReaderRow).where(TaskReaderRow.task_id == task_id))
                .scalars()
                .all()
            )
            if all(p.status == ReaderStatus.DONE for p in parts):
                self._close_round(session, row, [p.username for p in parts])
            session.flush()
            return task_record(session, task_id)

    def _close_round(self, session: Session, row: TaskRow, readers: list[str]) -> None:
        task = task_record(session, row.id)
        version = self._guidelines.by_id(session, task.guideline_version_id)
        guideline = version.guideline
        annotations = annotations_of(session, row.id)
        figures, summary = measure_agreement(guideline, readers, annotations, task.slices)
        row.round += 1
        now = self._work.now()
        for figure in figures:
            session.add(
                AgreementResultRow(
                    project_id=row.project_id,
                    task_id=row.id,
                    round=row.round,
                    label=figure.label,
                    kind=figure.kind,
                    metric=figure.metric,
                    value=figure.value,
                    reader_a=figure.pair[0] if figure.pair else None,
                    reader_b=figure.pair[1] if figure.pair else None,
                    readers=json.dumps(list(figure.readers)),
                    detail=json.dumps(figure.detail, sort_keys=True),
                    guideline_version_id=version.id,
                    created_at=now,
                )
            )
        below = [s.label for s in summary if s.below_threshold]
        row.completed_at = now
        if below:
            row.status = TaskStatus.ADJUDICATION.value
            return
        row.status = TaskStatus.CONSENSUS.value
        for label in guideline.labels:
            method, payload = build_consensus(label, readers, annotations, task.slices)
            session.add(consensus_row(row, label.name, method, payload, "system", now))


def consensus_row(
    row: TaskRow, label: str, method: str, payload: dict[str, Any], by: str, now: datetime
) -> ConsensusRow:
    """A consensus row of the task's current round."""
    return ConsensusRow(
        task_id=row.id,
        round=row.round,
        label=label,
        method=method,
        payload=json.dumps(payload, sort_keys=True),
        created_by=by,
        created_at=now,
    )
