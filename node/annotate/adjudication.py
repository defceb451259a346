"""Adjudication: an adjudicator resolves a task whose readers disagreed.

The adjudicator sees every reader's annotations side by side with the
round's agreement figures, then posts the final annotations. They are
validated like a reader's (label, kind, categories, geometry inside the
image...) and stored as the consensus of every label of the guideline, with
method ``adjudicated``; labels the adjudicator leaves out get an empty
consensus. The task's status becomes ``consensus``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from node.annotate.access import require_overseer
from node.annotate.guidelines import GuidelineRegistry
from node.annotate.queries import (
    agreement_figures,
    annotations_of,
    consensus_of,
    task_record,
    task_records,
    task_row,
)
from node.annotate.records import (
    AgreementFigure,
    AnnotationRecord,
    ConsensusRecord,
    GuidelineVersion,
    TaskRecord,
    TaskStatus,
)
from node.annotate.tasks import consensus_row
from node.annotate.unit_of_work import UnitOfWork
from node.annotate.validation import parse_payload, validate_annotation
from node.auth.roles import Permission, Principal
from node.errors import TaskStateError, ValidationFailedError
from node.store.annotation_tables import ProjectMemberRow, TaskReaderRow, TaskRow

__all__ = ["AdjudicationCase", "AdjudicationService"]


@dataclass(frozen=True)
class AdjudicationCase:
    """Everything an adjudicator needs: the task, each reader's work, the figures."""

    task: TaskRecord
    guideline: GuidelineVersion
    annotations_by_reader: dict[str, tuple[AnnotationRecord, ...]]
    agreement: tuple[AgreementFigure, ...]


class AdjudicationService:
    """The adjudication queue, the side-by-side case, and resolutions."""

    def __init__(self, work: UnitOfWork, guidelines: GuidelineRegistry) -> None:
        self._work = work
        self._guidelines = guidelines

    def queue(self, principal: Principal) -> list[TaskRecord]:
        """Tasks waiting for adjudication that the caller may adjudicate."""
        with self._work.read() as session:
            statement = (
                select(TaskRow)
                .where(TaskRow.status == TaskStatus.ADJUDICATION.value)
                .order_by(TaskRow.priority.desc(), TaskRow.completed_at, TaskRow.id)
            )
            if not principal.can(Permission.MANAGE_PROJECTS):
                reviewed = select(ProjectMemberRow.project_id).where(
                    ProjectMemberRow.username == principal.username,
                    ProjectMemberRow.role == "reviewer",
                )
                statement = statement.where(TaskRow.project_id.in_(reviewed))
            mine = select(TaskReaderRow.task_id).where(TaskReaderRow.username == principal.username)
            statement = statement.where(TaskRow.id.not_in(mine))
            return task_records(session, session.execute(statement).scalars())

    def case(self, task_id: int, principal: Principal) -> AdjudicationCase:
        """Every reader's annotations side by side, with the agreement figures."""
        with self._work.write() as session:
            row = task_row(session, task_id)
            require_overseer(session, principal, row, "adjudicate")
            task = task_record(session, task_id)
            annotations = annotations_of(session, task_id)
            by_reader = {
                p.username: tuple(a for a in annotations if a.reader == p.username)
                for p in task.readers
            }
            self._work.record(
                session,
                actor=principal.username,
                action="viewed",
                target_type="task",
                target_id=task_id,
                detail={"adjudication": True},
            )
            guideline = self._guidelines.by_id(session, task.guideline_version_id)
            return AdjudicationCase(
                task, guideline, by_reader, tuple(agreement_figures(session, row))
            )

    def resolve(
        self, task_id: int, payloads: Sequence[object], principal: Principal
    ) -> list[ConsensusRecord]:
        """Store the adjudicator's final annotations as the task's consensus."""
        with self._work.write() as session:
            row = task_row(session, task_id)
            require_overseer(session, principal, row, "adjudicate")
            if row.status != TaskStatus.ADJUDICATION:
                raise TaskStateError(
                    f"task {task_id} is {row.status}, not waiting for adjudication"
                )
            task = task_record(session, task_id)
            guideline = self._guidelines.by_id(session, task.guideline_version_id).guideline
            final: dict[str, list[dict[str, Any]]] = {label.name: [] for label in guideline.labels}
            for index, data in enumerate(payloads):
                try:
                    stored = validate_annotation(parse_payload(data), guideline, task.slices)
                except ValidationFailedError as exc:
                    raise type(exc)(
                        f"annotations[{index}]: {exc}", label=exc.label, field=exc.field
                    ) from None
                final[stored["label"]].append(stored)
            now = self._work.now()
            for label, annotations in final.items():
                session.add(
                    consensus_row(
                        row,
                        label,
                        "adjudicated",
                        {"annotations": annotations, "detail": {"adjudicator": principal.username}},
                        principal.username,
                        now,
                    )
                )
            row.status = TaskStatus.CONSENSUS.value
            self._work.record(
                session,
                actor=principal.username,
                action="adjudicated",
                target_type="task",
                target_id=task_id,
                detail={"annotations": len(payloads), "round": row.round},
            )
            session.flush()
            return consensus_of(session, row)
