"""Review: a reviewer approves or rejects one reader's completed part, with a reason.

A rejection reopens the reader's part (status ``rejected``, the reason shown
in their task and worklist) and, when the task had closed, reopens the task:
its next round's agreement and consensus replace the current ones once every
reader has completed again. Reviewers never review their own reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from node.annotate.access import require_overseer
from node.annotate.queries import reader_part, task_record, task_records, task_row
from node.annotate.records import (
    ReaderStatus,
    ReviewDecision,
    ReviewStatus,
    TaskRecord,
    TaskStatus,
)
from node.annotate.unit_of_work import UnitOfWork
from node.auth.roles import Permission, Principal
from node.errors import InvalidPayloadError, NotFoundError, TaskStateError
from node.store.annotation_tables import ProjectMemberRow, TaskReaderRow, TaskRow

__all__ = ["ReviewItem", "ReviewService"]


@dataclass(frozen=True)
class ReviewItem:
    """A completed reader part waiting for review."""

    task: TaskRecord
    reader: str
    completed_at: datetime | None


class ReviewService:
    """The review queue and review decisions."""

    def __init__(self, work: UnitOfWork) -> None:
        self._work = work

    def queue(self, principal: Principal) -> list[ReviewItem]:
        """Completed parts pending review in the projects the caller reviews (all, for admins)."""
        with self._work.read() as session:
            statement = (
                select(TaskRow, TaskReaderRow)
                .join(TaskReaderRow, TaskReaderRow.task_id == TaskRow.id)
                .where(
                    TaskReaderRow.status == ReaderStatus.DONE.value,
                    TaskReaderRow.review_status == ReviewStatus.PENDING.value,
                    TaskReaderRow.username != principal.username,
                )
                .order_by(TaskReaderRow.completed_at, TaskRow.id)
            )
            if not principal.can(Permission.MANAGE_PROJECTS):
                reviewed = select(ProjectMemberRow.project_id).where(
                    ProjectMemberRow.username == principal.username,
                    ProjectMemberRow.role == "reviewer",
                )
                statement = statement.where(TaskRow.project_id.in_(reviewed))
            rows = [(t, p) for t, p in session.execute(statement).all()]
            mine = {
                task_id
                for (task_id,) in session.execute(
                    select(TaskReaderRow.task_id).where(
                        TaskReaderRow.username == principal.username
                    )
                )
            }
            rows = [(t, p) for t, p in rows if t.id not in mine]
            records = {r.id: r for r in task_records(session, [t for t, _ in rows])}
            return [ReviewItem(records[t.id], p.username, p.completed_at) for t, p in rows]

    def review(
        self,
        task_id: int,
        *,
        reader: str,
        decision: ReviewDecision | str,
        reason: str,
        principal: Principal,
    ) -> TaskRecord:
        """Approve or reject ``reader``'s part of the task.

        Raises
        ------
        InvalidPayloadError
            A rejection without a reason, or an unknown decision.
        TaskStateError
            When the reader has not completed their part.
        """
        try:
            verdict = ReviewDecision(decision)
        except ValueError:
            raise InvalidPayloadError(
                f"decision must be 'approve' or 'reject'; got {decision!r}", field="decision"
            ) from None
        if verdict is ReviewDecision.REJECT and not reason.strip():
            raise InvalidPayloadError(
                "a rejection needs a reason the reader can act on", field="reason"
            )
        with self._work.write() as session:
            row = task_row(session, task_id)
            require_overseer(session, principal, row, "review")
            part = reader_part(session, task_id, reader)
            if part is None:
                raise NotFoundError(f"{reader!r} is not a reader of task {task_id}")
            if part.status != ReaderStatus.DONE:
                raise TaskStateError(
                    f"{reader} has not completed task {task_id} yet; review it once they have"
                )
            now = self._work.now()
            part.reviewed_by = principal.username
            part.reviewed_at = now
            part.review_reason = reason.strip()
            if verdict is ReviewDecision.APPROVE:
                part.review_status = ReviewStatus.APPROVED.value
            else:
                part.review_status = ReviewStatus.REJECTED.value
                part.status = ReaderStatus.REJECTED.value
                part.completed_at = None
                if row.status != TaskStatus.OPEN:
                    row.status = TaskStatus.OPEN.value
                    row.completed_at = None
            self._work.record(
                session,
                actor=principal.username,
                action="reviewed",
                target_type="task",
                target_id=task_id,
                detail={"reader": reader, "decision": verdict.value, "reason": part.review_reason},
            )
            session.flush()
            return task_record(session, task_id)
