"""Saving annotations as append-only revisions: create, revise, tombstone, history, diff.

Every save appends one revision in one transaction, together with its audit
entry; the annotation row only mirrors the head. An edit names the revision it
was based on: if that is no longer the head (another tab or device saved in
between), the edit is refused with :class:`~node.errors.RevisionConflictError`
rather than overwriting, and ``UNIQUE(annotation_id, revision)`` backs this
up in the database. Deleting appends a tombstone revision; nothing is lost.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from node.annotate.access import require_viewer, sees_everyone
from node.annotate.diff import diff_payloads
from node.annotate.guidelines import GuidelineRegistry
from node.annotate.queries import (
    annotation_row,
    reader_part,
    task_row,
)
from node.annotate.records import (
    AnnotationRecord,
    ReaderStatus,
    RevisionRecord,
    TaskSlice,
    TaskStatus,
)
from node.annotate.unit_of_work import UnitOfWork
from node.annotate.validation import (
    LiveAnnotation,
    check_annotation,
    check_duplicate,
    geometry_key,
    parse_payload,
)
from node.auth.roles import Principal
from node.errors import (
    InvalidPayloadError,
    NotAssignedError,
    NotFoundError,
    RevisionConflictError,
    TaskStateError,
)
from node.store.annotation_tables import (
    AnnotationRevisionRow,
    AnnotationRow,
    ProjectRow,
    TaskReaderRow,
    TaskRow,
)

__all__ = ["RevisionService"]

_SLICE_CACHE_TASKS = 1024


def _canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def _writable_part(
    session: Session, task_id: int, task_status: str, username: str
) -> TaskReaderRow:
    part = reader_part(session, task_id, username)
    if part is None:
        raise NotAssignedError(
            f"you are not a reader of task {task_id}; only its assigned readers annotate it"
        )
    if task_status != TaskStatus.OPEN or part.status == ReaderStatus.DONE:
        raise TaskStateError(
            f"you have completed task {task_id}; annotations can change again only if a "
            "reviewer rejects your part"
        )
    return part


def _revision_record(row: AnnotationRevisionRow) -> RevisionRecord:
    return RevisionRecord(
        annotation_id=row.annotation_id,
        revision=row.revision,
        payload=json.loads(row.payload),
        author=row.author,
        created_at=row.created_at,
        tombstone=row.tombstone,
        guideline_version_id=row.guideline_version_id,
    )


class RevisionService:
    """Creates and revises annotations, and reads their history."""

    def __init__(self, work: UnitOfWork, guidelines: GuidelineRegistry) -> None:
        self._work = work
        self._guidelines = guidelines
        self._slices: dict[int, tuple[TaskSlice, ...]] = {}

    def _checked(self, task_id: int, reader: str, data: object) -> tuple[dict[str, Any], int]:
        """Parse and check a payload outside the write transaction (rules 1-7).

        The CPU work (RLE checks, interpolation) runs here, so concurrent savers
        overlap it with each other's commits. Returns the payload to store and
        the guideline version id.
        """
        with self._work.read() as session:
            found = session.execute(
                select(TaskRow.status, ProjectRow.guideline_version_id)
                .join(ProjectRow, ProjectRow.id == TaskRow.project_id)
                .where(TaskRow.id == task_id)
            ).one_or_none()
            if found is None:
                raise NotFoundError(f"no task {task_id} on this node")
            status, version_id = found
            _writable_part(session, task_id, status, reader)
            guideline = self._guidelines.by_id(session, version_id).guideline
            slices = self._slices_of(session, task_id)
        payload = parse_payload(data)
        return check_annotation(payload, guideline, slices), version_id

    def _slices_of(self, session: Session, task_id: int) -> tuple[TaskSlice, ...]:
        """A task's slices, parsed once (they never change after the task is created)."""
        slices = self._slices.get(task_id)
        if slices is None:
            text = session.execute(select(TaskRow.slices).where(TaskRow.id == task_id)).scalar_one()
            slices = tuple(TaskSlice.from_json(s) for s in json.loads(text))
            if len(self._slices) >= _SLICE_CACHE_TASKS:
                self._slices.clear()
            self._slices[task_id] = slices
        return slices

    def _check_live(
        self, session: Session, task_id: int, reader: str, stored: dict[str, Any], exclude: int
    ) -> None:
        statement = select(
            AnnotationRow.id, AnnotationRow.label, AnnotationRow.geometry_sha256
        ).where(
            AnnotationRow.task_id == task_id,
            AnnotationRow.reader == reader,
            AnnotationRow.label == stored["label"],
            AnnotationRow.deleted.is_(False),
            AnnotationRow.id != exclude,
        )
        check_duplicate(
            stored,
            [LiveAnnotation(i, label, digest) for i, label, digest in session.execute(statement)],
        )

    def create(self, task_id: int, reader: str, data: object) -> AnnotationRecord:
        """Save a new annotation (revision 1) by ``reader`` on the task."""
        stored, version_id = self._checked(task_id, reader, data)
        with self._work.write() as session:
            task = task_row(session, task_id)
            part = _writable_part(session, task.id, task.status, reader)
            self._check_live(session, task.id, reader, stored, exclude=0)
            row = AnnotationRow(
                task_id=task.id,
                reader=reader,
                label=stored["label"],
                kind=stored["kind"],
                head_revision=1,
                deleted=False,
                geometry_sha256=geometry_key(stored),
                created_at=self._work.now(),
            )
            session.add(row)
            session.flush()
            saved_at = self._append(session, row, 1, stored, reader, version_id, tombstone=False)
            if part.status == ReaderStatus.ASSIGNED:
                part.status = ReaderStatus.IN_PROGRESS.value
            self._work.record(
                session,
                actor=reader,
                action="created",
                target_type="annotation",
                target_id=row.id,
                detail={"task": task.id, "label": row.label, "revision": 1},
            )
            return self._head(row, stored, version_id, saved_at)

    def revise(
        self, annotation_id: int, reader: str, base_revision: int, data: object
    ) -> AnnotationRecord:
        """Append a revision on top of ``base_revision``, which must be the head."""
        with self._work.read() as session:
            row = self._owned(session, annotation_id, reader, base_revision)
            task_id, label, kind = row.task_id, row.label, row.kind
        if isinstance(data, dict) and (data.get("label") != label or data.get("kind") != kind):
            raise InvalidPayloadError(
                f"annotation {annotation_id} is a {kind} of {label!r}; an annotation keeps "
                "its label and kind: delete it and create a new one instead",
                label=label,
                field="label",
            )
        stored, version_id = self._checked(task_id, reader, data)
        with self._work.write() as session:
            row = self._owned(session, annotation_id, reader, base_revision)
            self._check_live(session, row.task_id, reader, stored, exclude=row.id)
            revision = base_revision + 1
            saved_at = self._append(
                session, row, revision, stored, reader, version_id, tombstone=False
            )
            self._work.record(
                session,
                actor=reader,
                action="changed",
                target_type="annotation",
                target_id=row.id,
                detail={"task": row.task_id, "label": row.label, "revision": revision},
            )
            return self._head(row, stored, version_id, saved_at)

    def tombstone(self, annotation_id: int, reader: str, base_revision: int) -> AnnotationRecord:
        """Delete an annotation by appending a tombstone revision (history kept)."""
        with self._work.write() as session:
            row = self._owned(session, annotation_id, reader, base_revision)
            head = session.execute(
                select(AnnotationRevisionRow).where(
                    AnnotationRevisionRow.annotation_id == row.id,
                    AnnotationRevisionRow.revision == base_revision,
                )
            ).scalar_one()
            revision = base_revision + 1
            stored = json.loads(head.payload)
            saved_at = self._append(
                session, row, revision, stored, reader, head.guideline_version_id, tombstone=True
            )
            self._work.record(
                session,
                actor=reader,
                action="deleted",
                target_type="annotation",
                target_id=row.id,
                detail={"task": row.task_id, "label": row.label, "revision": revision},
            )
            return self._head(row, stored, head.guideline_version_id, saved_at)

    def _owned(
        self, session: Session, annotation_id: int, reader: str, base_revision: int
    ) -> AnnotationRow:
        row = annotation_row(session, annotation_id)
        if row.reader != reader:
            raise NotAssignedError(
                f"annotation {annotation_id} belongs to another reader; you can change only "
                "your own annotations"
            )
        task = task_row(session, row.task_id)
        _writable_part(session, task.id, task.status, reader)
        if row.deleted:
            raise TaskStateError(
                f"annotation {annotation_id} was deleted at revision {row.head_revision}; "
                "create a new annotation instead"
            )
        if base_revision != row.head_revision:
            raise RevisionConflictError(
                f"annotation {annotation_id} is at revision {row.head_revision}, not "
                f"{base_revision}: someone saved it in between; reload it, reapply your "
                f"change and send base_revision {row.head_revision}",
                head_revision=row.head_revision,
            )
        return row

    def _append(
        self,
        session: Session,
        row: AnnotationRow,
        revision: int,
        stored: dict[str, Any],
        author: str,
        guideline_version_id: int,
        *,
        tombstone: bool,
    ) -> datetime:
        saved_at = self._work.now()
        session.add(
            AnnotationRevisionRow(
                annotation_id=row.id,
                revision=revision,
                payload=_canonical(stored),
                guideline_version_id=guideline_version_id,
                author=author,
                created_at=saved_at,
                tombstone=tombstone,
            )
        )
        row.head_revision = revision
        row.deleted = tombstone
        row.geometry_sha256 = geometry_key(stored)
        try:
            session.flush()
        except IntegrityError:
            # Another writer (another process on this database) saved this revision first.
            raise RevisionConflictError(
                f"annotation {row.id} already has a revision {revision}: someone saved it in "
                "between; reload it and reapply your change",
                head_revision=revision,
            ) from None
        return saved_at

    def _head(
        self, row: AnnotationRow, stored: dict[str, Any], version_id: int, saved_at: datetime
    ) -> AnnotationRecord:
        return AnnotationRecord(
            annotation_id=row.id,
            task_id=row.task_id,
            reader=row.reader,
            label=row.label,
            kind=row.kind,
            revision=row.head_revision,
            payload=stored,
            author=row.reader,
            created_at=row.created_at,
            updated_at=saved_at,
            deleted=row.deleted,
            guideline_version_id=version_id,
        )

    # -- reading history -------------------------------------------------------------

    def _visible(self, session: Session, principal: Principal, annotation_id: int) -> AnnotationRow:
        row = annotation_row(session, annotation_id)
        task_db = task_row(session, row.task_id)
        require_viewer(session, principal, task_db)
        if row.reader != principal.username and not sees_everyone(session, principal, task_db):
            # Blinded: another reader's annotation does not exist for this caller.
            raise NotFoundError(f"no annotation {annotation_id} on this node")
        return row

    def history(self, annotation_id: int, principal: Principal) -> list[RevisionRecord]:
        """Every revision of an annotation, oldest first."""
        with self._work.read() as session:
            self._visible(session, principal, annotation_id)
            rows = session.execute(
                select(AnnotationRevisionRow)
                .where(AnnotationRevisionRow.annotation_id == annotation_id)
                .order_by(AnnotationRevisionRow.revision)
            ).scalars()
            return [_revision_record(r) for r in rows]

    def revision(self, annotation_id: int, number: int, principal: Principal) -> RevisionRecord:
        """One revision of an annotation."""
        with self._work.read() as session:
            self._visible(session, principal, annotation_id)
            row = session.execute(
                select(AnnotationRevisionRow).where(
                    AnnotationRevisionRow.annotation_id == annotation_id,
                    AnnotationRevisionRow.revision == number,
                )
            ).scalar_one_or_none()
            if row is None:
                raise NotFoundError(f"annotation {annotation_id} has no revision {number}")
            return _revision_record(row)

    def diff(
        self, annotation_id: int, before: int, after: int, principal: Principal
    ) -> dict[str, Any]:
        """What changed from revision ``before`` to revision ``after``."""
        first = self.revision(annotation_id, before, principal)
        second = self.revision(annotation_id, after, principal)
        result = diff_payloads(first.payload, second.payload)
        return {
            "annotation_id": annotation_id,
            "from": before,
            "to": after,
            "tombstone": {"from": first.tombstone, "to": second.tombstone},
            **result,
        }
