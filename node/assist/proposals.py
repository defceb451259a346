"""AI drafts in a task: what each reader sees, and their accept / edit / reject.

A proposal is the model's; a reader's part in it is a **resolution** (append-only,
one per reader and proposal). Nothing here ever turns a draft into an
annotation by itself:

* *accept* saves the proposal's geometry as the reader's own annotation
  (revision 1, through :class:`~node.annotate.RevisionService`, so every rule
  of a save applies) and records ``accepted`` with Dice 1;
* *edit* links an annotation the reader saved after changing the draft in the
  viewer (their own, same task and label) and records ``edited`` with the Dice
  and IoU between the proposal and that revision (an unchanged copy counts as
  ``accepted``);
* *reject* records ``rejected`` with an optional reason.

Blinding: each reader sees every draft of their task independently, with only
their own resolution; who else accepted or rejected what is shown only to
callers for whom blinding has lifted (overseers, or readers of a completed
task). Drafts never enter the annotation tables, so they never count as an
annotation, in completion, agreement or consensus.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from node.annotate.access import require_viewer, sees_everyone
from node.annotate.queries import annotation_row, reader_part, task_row
from node.annotate.records import AnnotationRecord, ReaderStatus, TaskSlice, TaskStatus
from node.annotate.revisions import RevisionService
from node.annotate.unit_of_work import UnitOfWork
from node.assist.errors import (
    EditMismatchError,
    PreannotationOffError,
    ProposalNotFoundError,
    ProposalResolvedError,
)
from node.assist.geometry import edit_overlap
from node.assist.project_settings import settings_of
from node.assist.records import ModelRef, Outcome, ProposalRecord, ProposalStatus
from node.assist.tables import ProposalRow, ResolutionRow, RunRow
from node.auth.roles import Principal
from node.errors import NotAssignedError, TaskStateError
from node.store.annotation_tables import AnnotationRevisionRow, ProjectRow, TaskRow

__all__ = ["ProposalService", "current_run_of"]


def current_run_of(session: Session, task_id: int) -> int | None:
    """The newest run that proposed anything for the task, or ``None``."""
    found: int | None = session.execute(
        select(func.max(ProposalRow.run_id)).where(ProposalRow.task_id == task_id)
    ).scalar_one()
    return found


def _resolution_json(row: ResolutionRow) -> dict[str, Any]:
    return {
        "reader": row.reader,
        "outcome": row.outcome,
        "annotation_id": row.annotation_id,
        "revision": row.revision,
        "dice": row.dice,
        "iou": row.iou,
        "reason": row.reason,
        "resolved_at": row.resolved_at.isoformat(),
    }


def _record(
    row: ProposalRow,
    run: RunRow,
    mine: ResolutionRow | None,
    everyone: list[ResolutionRow] | None,
) -> ProposalRecord:
    return ProposalRecord(
        id=row.id,
        task_id=row.task_id,
        run_id=row.run_id,
        model=ModelRef(run.model_name, run.model_version, run.model_sha256),
        label=row.label,
        kind=row.kind,
        payload=json.loads(row.payload),
        probability=row.probability,
        created_at=row.created_at,
        status=ProposalStatus(mine.outcome) if mine else ProposalStatus.DRAFT,
        annotation_id=mine.annotation_id if mine else None,
        revision=mine.revision if mine else None,
        dice=mine.dice if mine else None,
        iou=mine.iou if mine else None,
        reason=mine.reason if mine else "",
        resolutions=tuple(_resolution_json(r) for r in everyone or ()),
    )


def _task_slices(task: TaskRow) -> tuple[TaskSlice, ...]:
    return tuple(TaskSlice.from_json(s) for s in json.loads(task.slices))


class ProposalService:
    """Lists a task's drafts for a caller, and records each reader's resolution."""

    def __init__(self, work: UnitOfWork, revisions: RevisionService) -> None:
        self._work = work
        self._revisions = revisions

    # -- reading ---------------------------------------------------------------------

    def for_task(self, task_id: int, principal: Principal) -> tuple[bool, list[ProposalRecord]]:
        """Whether drafts are on for the task's project, and the proposals the caller sees.

        Readers of an open task see drafts only while the project has them on,
        each with their own status; overseers see every proposal with every
        reader's resolution.
        """
        with self._work.read() as session:
            task = task_row(session, task_id)
            require_viewer(session, principal, task)
            project = session.get(ProjectRow, task.project_id)
            assert project is not None
            enabled = settings_of(session, project).preannotation
            is_reader = reader_part(session, task_id, principal.username) is not None
            everyone = sees_everyone(session, principal, task)
            if is_reader and not enabled:
                return False, []
            run_id = current_run_of(session, task_id)
            if run_id is None:
                return enabled, []
            run = session.get(RunRow, run_id)
            assert run is not None
            rows = (
                session.execute(
                    select(ProposalRow)
                    .where(ProposalRow.task_id == task_id, ProposalRow.run_id == run_id)
                    .order_by(ProposalRow.id)
                )
                .scalars()
                .all()
            )
            resolutions = (
                session.execute(
                    select(ResolutionRow)
                    .where(ResolutionRow.proposal_id.in_([r.id for r in rows]))
                    .order_by(ResolutionRow.id)
                )
                .scalars()
                .all()
            )
            records = []
            for row in rows:
                own = [r for r in resolutions if r.proposal_id == row.id]
                mine = next((r for r in own if r.reader == principal.username), None)
                records.append(_record(row, run, mine, own if everyone else None))
            return enabled, records

    # -- resolving -------------------------------------------------------------------

    def _draft(
        self, session: Session, proposal_id: int, reader: str
    ) -> tuple[ProposalRow, TaskRow]:
        """The proposal, checked: visible to ``reader``, drafts on, part writable, unresolved."""
        row = session.get(ProposalRow, proposal_id)
        if row is None:
            raise ProposalNotFoundError(f"no proposal {proposal_id} on this node")
        task = task_row(session, row.task_id)
        part = reader_part(session, task.id, reader)
        if part is None:
            raise NotAssignedError(
                f"you are not a reader of task {task.id}; only its readers resolve its AI drafts"
            )
        project = session.get(ProjectRow, task.project_id)
        assert project is not None
        if not settings_of(session, project).preannotation:
            raise PreannotationOffError(
                f"project {project.name!r} does not show AI drafts; a project manager turns "
                "them on in the project's AI-assistance settings"
            )
        if row.run_id != current_run_of(session, task.id):
            raise ProposalNotFoundError(
                f"proposal {proposal_id} was replaced by a newer run's drafts; reload the task"
            )
        if task.status != TaskStatus.OPEN or part.status == ReaderStatus.DONE:
            raise TaskStateError(
                f"you have completed task {task.id}; its drafts can be resolved again only if "
                "a reviewer rejects your part"
            )
        done = session.execute(
            select(ResolutionRow.outcome).where(
                ResolutionRow.proposal_id == proposal_id, ResolutionRow.reader == reader
            )
        ).scalar_one_or_none()
        if done is not None:
            raise ProposalResolvedError(
                f"you have already {done} proposal {proposal_id}; change your annotation "
                "instead, its history keeps every revision",
                outcome=done,
            )
        return row, task

    def _resolve(
        self,
        session: Session,
        row: ProposalRow,
        reader: str,
        outcome: Outcome,
        *,
        annotation_id: int | None = None,
        revision: int | None = None,
        dice: float | None = None,
        iou: float | None = None,
        reason: str = "",
    ) -> ProposalRecord:
        resolution = ResolutionRow(
            proposal_id=row.id,
            reader=reader,
            outcome=outcome.value,
            annotation_id=annotation_id,
            revision=revision,
            dice=dice,
            iou=iou,
            reason=reason,
            resolved_at=self._work.now(),
        )
        session.add(resolution)
        try:
            session.flush()
        except IntegrityError:
            raise ProposalResolvedError(
                f"proposal {row.id} was resolved in between (another tab?); reload the task",
                outcome="resolved",
            ) from None
        self._work.record(
            session,
            actor=reader,
            action="changed",
            target_type="proposal",
            target_id=row.id,
            detail={
                "task": row.task_id,
                "label": row.label,
                "outcome": outcome.value,
                "annotation": annotation_id,
                "dice": dice,
            },
        )
        run = session.get(RunRow, row.run_id)
        assert run is not None
        return _record(row, run, resolution, None)

    def accept(
        self,
        proposal_id: int,
        reader: str,
        *,
        confidence: int | None = None,
        comment: str = "",
    ) -> tuple[ProposalRecord, AnnotationRecord]:
        """Save the draft unchanged as ``reader``'s annotation and record ``accepted``."""
        with self._work.read() as session:
            row, task = self._draft(session, proposal_id, reader)
            stored = json.loads(row.payload)
            task_id = task.id
        payload: dict[str, Any] = {
            "label": stored["label"],
            "kind": stored["kind"],
            "geometry": stored["geometry"],
            "comment": comment,
        }
        if confidence is not None:
            payload["confidence"] = confidence
        annotation = self._revisions.create(task_id, reader, payload)
        with self._work.write() as session:
            row, _task = self._draft(session, proposal_id, reader)
            record = self._resolve(
                session,
                row,
                reader,
                Outcome.ACCEPTED,
                annotation_id=annotation.annotation_id,
                revision=annotation.revision,
                dice=1.0,
                iou=1.0,
            )
        return record, annotation

    def link_edit(self, proposal_id: int, reader: str, annotation_id: int) -> ProposalRecord:
        """Record that ``reader``'s annotation is their edit of the draft, with its size.

        Raises
        ------
        EditMismatchError
            When the annotation is deleted, or of another task or label than the proposal.
        NotAssignedError
            When the annotation is another reader's.
        """
        with self._work.write() as session:
            row, task = self._draft(session, proposal_id, reader)
            annotation = annotation_row(session, annotation_id)
            if annotation.reader != reader:
                raise NotAssignedError(
                    f"annotation {annotation_id} belongs to another reader; link your own edit"
                )
            if annotation.task_id != row.task_id or annotation.label != row.label:
                raise EditMismatchError(
                    f"annotation {annotation_id} is a {annotation.label!r} of task "
                    f"{annotation.task_id}, not an edit of proposal {proposal_id} "
                    f"({row.label!r} of task {row.task_id})",
                    label=row.label,
                    field="annotation_id",
                )
            if annotation.deleted:
                raise EditMismatchError(
                    f"annotation {annotation_id} is deleted; reject the draft instead",
                    label=row.label,
                    field="annotation_id",
                )
            head = session.execute(
                select(AnnotationRevisionRow.payload).where(
                    AnnotationRevisionRow.annotation_id == annotation.id,
                    AnnotationRevisionRow.revision == annotation.head_revision,
                )
            ).scalar_one()
            proposed = json.loads(row.payload)["geometry"]
            final = json.loads(head)["geometry"]
            dice, iou = edit_overlap(row.kind, proposed, final, _task_slices(task))
            unchanged = proposed == final or dice == 1.0
            return self._resolve(
                session,
                row,
                reader,
                Outcome.ACCEPTED if unchanged else Outcome.EDITED,
                annotation_id=annotation.id,
                revision=annotation.head_revision,
                dice=dice,
                iou=iou,
            )

    def reject(self, proposal_id: int, reader: str, reason: str = "") -> ProposalRecord:
        """Record that ``reader`` rejected the draft (nothing is saved as an annotation)."""
        with self._work.write() as session:
            row, _task = self._draft(session, proposal_id, reader)
            return self._resolve(session, row, reader, Outcome.REJECTED, reason=reason.strip())
