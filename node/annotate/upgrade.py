"""Moving a project to a new guideline version, and re-reviewing what the revision touched.

:meth:`ProjectUpgrade.upgrade` compares the project's guideline version with
the new one (:func:`shared.schemas.guideline_diff.diff_guidelines`), moves the
project to the new version, and — in the same transaction, audited — sends
every completed reader part that holds an annotation of a label whose
*meaning* changed (definition, criteria, categories, boundary rules, edge
cases, kind, scale; not cosmetic or threshold changes), or that lacks a new
required label, back to the review queue: its review status returns to
``pending`` with a reason starting with :data:`REREVIEW_PREFIX`, naming the
version and labels. A reviewer then approves it, or rejects it so the reader
revises under the new version. :meth:`ProjectUpgrade.queue` lists those items.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.annotate.guidelines import GuidelineRegistry
from node.annotate.records import ReaderStatus, ReviewStatus
from node.annotate.review import ReviewItem, ReviewService
from node.annotate.unit_of_work import UnitOfWork
from node.auth.roles import Principal
from node.errors import NotFoundError, ProjectSetupError
from node.store.annotation_tables import AnnotationRow, ProjectRow, TaskReaderRow, TaskRow
from shared.schemas.guideline_diff import GuidelineDiff, diff_guidelines

__all__ = ["REREVIEW_PREFIX", "ProjectUpgrade", "RereviewPart", "UpgradeResult"]

REREVIEW_PREFIX = "re-review:"
"""How the review reason of a part sent back by a guideline upgrade begins."""


@dataclass(frozen=True)
class RereviewPart:
    """One reader's completed part sent back to review."""

    task_id: int
    reader: str
    labels: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        """JSON form."""
        return {"task_id": self.task_id, "reader": self.reader, "labels": list(self.labels)}


@dataclass(frozen=True)
class UpgradeResult:
    """What an upgrade changed."""

    project: str
    from_version: str
    to_version: str
    diff: GuidelineDiff
    rereview: tuple[RereviewPart, ...] = field(default=())

    @property
    def tasks(self) -> tuple[int, ...]:
        """The tasks with at least one part sent back to review."""
        return tuple(sorted({part.task_id for part in self.rereview}))

    def to_json(self) -> dict[str, object]:
        """JSON form."""
        return {
            "project": self.project,
            "from": self.from_version,
            "to": self.to_version,
            "rereview_labels": list(self.diff.rereview_labels),
            "rereview": [part.to_json() for part in self.rereview],
            "tasks": list(self.tasks),
            "diff": self.diff.to_json(),
        }


class ProjectUpgrade:
    """Guideline upgrades of projects and the re-review queue they fill."""

    def __init__(self, work: UnitOfWork, guidelines: GuidelineRegistry) -> None:
        self._work = work
        self._guidelines = guidelines
        self._review = ReviewService(work)

    def upgrade(self, project: str, guideline: str, version: str, *, by: str) -> UpgradeResult:
        """Move ``project`` to ``guideline@version`` and queue what the revision touched.

        Raises
        ------
        NotFoundError
            No such project, or the version is not loaded on this node.
        ProjectSetupError
            The version is of another guideline, or is the project's current one.
        """
        target = self._guidelines.get(guideline, version)
        with self._work.write() as session:
            row = session.execute(
                select(ProjectRow).where(ProjectRow.name == project)
            ).scalar_one_or_none()
            if row is None:
                raise NotFoundError(f"no project {project!r}; 'harmonia-node project list'")
            current = self._guidelines.by_id(session, row.guideline_version_id)
            if current.name != target.name:
                raise ProjectSetupError(
                    f"project {project} follows guideline {current.name}; it can only move to "
                    f"another version of {current.name}, not to {target.guideline.key}"
                )
            if current.id == target.id:
                raise ProjectSetupError(
                    f"project {project} already follows {target.guideline.key}; nothing to do"
                )
            diff = diff_guidelines(current.guideline, target.guideline)
            parts = _parts_to_rereview(session, row.id, diff)
            reason = _reason(diff)
            for part_row, labels in parts:
                part_row.review_status = ReviewStatus.PENDING.value
                part_row.review_reason = f"{reason} ({', '.join(labels)})"
                part_row.reviewed_by = None
                part_row.reviewed_at = None
            row.guideline_version_id = target.id
            result = UpgradeResult(
                project,
                current.guideline.version,
                target.guideline.version,
                diff,
                tuple(RereviewPart(p.task_id, p.username, labels) for p, labels in parts),
            )
            self._work.record(
                session,
                actor=by,
                action="changed",
                target_type="project",
                target_id=project,
                detail={
                    "guideline": {"from": result.from_version, "to": result.to_version},
                    "rereview_labels": list(diff.rereview_labels),
                    "rereview_tasks": list(result.tasks),
                },
            )
            return result

    def queue(self, principal: Principal) -> list[ReviewItem]:
        """The review-queue items a guideline upgrade sent back, for ``principal``."""
        items = self._review.queue(principal)
        reasons = self._reasons([item.task.id for item in items])
        return [
            item
            for item in items
            if reasons.get((item.task.id, item.reader), "").startswith(REREVIEW_PREFIX)
        ]

    def reason(self, task_id: int, reader: str) -> str:
        """The review reason of one part (empty when none)."""
        return self._reasons([task_id]).get((task_id, reader), "")

    def _reasons(self, task_ids: list[int]) -> dict[tuple[int, str], str]:
        if not task_ids:
            return {}
        with self._work.read() as session:
            rows = session.execute(
                select(
                    TaskReaderRow.task_id, TaskReaderRow.username, TaskReaderRow.review_reason
                ).where(TaskReaderRow.task_id.in_(task_ids))
            ).all()
        return {(task, reader): reason or "" for task, reader, reason in rows}


def _reason(diff: GuidelineDiff) -> str:
    return f"{REREVIEW_PREFIX} guideline {diff.name}@{diff.to_version} changed the meaning"


def _parts_to_rereview(
    session: Session, project_id: int, diff: GuidelineDiff
) -> list[tuple[TaskReaderRow, tuple[str, ...]]]:
    changed = set(diff.meaning_changed_labels)
    required = set(diff.added_required)
    if not changed and not required:
        return []
    done = session.execute(
        select(TaskReaderRow)
        .join(TaskRow, TaskRow.id == TaskReaderRow.task_id)
        .where(TaskRow.project_id == project_id, TaskReaderRow.status == ReaderStatus.DONE.value)
        .order_by(TaskReaderRow.task_id, TaskReaderRow.username)
    ).scalars()
    parts = list(done)
    if not parts:
        return []
    held: dict[tuple[int, str], set[str]] = {}
    if changed:
        rows = session.execute(
            select(AnnotationRow.task_id, AnnotationRow.reader, AnnotationRow.label).where(
                AnnotationRow.task_id.in_({p.task_id for p in parts}),
                AnnotationRow.label.in_(changed),
                AnnotationRow.deleted.is_(False),
            )
        ).all()
        for task_id, reader, label in rows:
            held.setdefault((task_id, reader), set()).add(label)
    out = []
    for part in parts:
        labels = held.get((part.task_id, part.username), set()) | required
        if labels:
            out.append((part, tuple(sorted(labels))))
    return out
