"""Per-project AI-assistance settings, and the blinding policy behind their defaults.

Both switches are off until a project manager turns them on:

* ``preannotation``: readers see the model's proposals as drafts. A project
  with two or more readers per task measures inter-reader agreement, and
  drafts anchor every reader to the same starting point, which inflates that
  agreement; turning drafts on there needs ``anchoring_acknowledged``, and the
  setting is recorded (audited) with who acknowledged it.
* ``active_learning``: each inference run sets the worklist priority of the
  project's open tasks from the ranking (:mod:`node.assist.ranking`). The
  ranking uses only the model's output, never a reader's annotation, so it
  may be on under any blinding policy.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.annotate.unit_of_work import UnitOfWork
from node.assist.errors import AnchoringNotAcknowledgedError
from node.assist.records import AssistSettings
from node.assist.tables import AssistSettingsRow
from node.errors import NotFoundError
from node.store.annotation_tables import ProjectRow

__all__ = ["SettingsService", "project_row", "settings_of"]


def project_row(session: Session, name: str) -> ProjectRow:
    """The project called ``name``, or :class:`NotFoundError`."""
    row = session.execute(select(ProjectRow).where(ProjectRow.name == name)).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"no project named {name!r} on this node")
    return row


def settings_of(session: Session, project: ProjectRow) -> AssistSettings:
    """The project's settings (the defaults, all off, when none were ever saved)."""
    row = session.get(AssistSettingsRow, project.id)
    if row is None:
        return AssistSettings(project=project.name)
    return AssistSettings(
        project=project.name,
        preannotation=row.preannotation,
        active_learning=row.active_learning,
        anchoring_acknowledged=row.anchoring_acknowledged,
        changed_by=row.changed_by,
        changed_at=row.changed_at,
    )


class SettingsService:
    """Reads and changes projects' AI-assistance settings."""

    def __init__(self, work: UnitOfWork) -> None:
        self._work = work

    def get(self, project: str) -> AssistSettings:
        """The settings of ``project``."""
        with self._work.read() as session:
            return settings_of(session, project_row(session, project))

    def configure(
        self,
        project: str,
        *,
        actor: str,
        preannotation: bool | None = None,
        active_learning: bool | None = None,
        anchoring_acknowledged: bool | None = None,
    ) -> AssistSettings:
        """Change the given switches (``None`` keeps a switch as it is).

        Raises
        ------
        AnchoringNotAcknowledgedError
            Turning drafts on for a project with two or more readers per task
            without acknowledging that they anchor readers.
        """
        with self._work.write() as session:
            row = project_row(session, project)
            current = settings_of(session, row)
            wanted = AssistSettings(
                project=row.name,
                preannotation=current.preannotation if preannotation is None else preannotation,
                active_learning=(
                    current.active_learning if active_learning is None else active_learning
                ),
                anchoring_acknowledged=(
                    current.anchoring_acknowledged
                    if anchoring_acknowledged is None
                    else anchoring_acknowledged
                ),
            )
            if (
                wanted.preannotation
                and row.readers_per_task >= 2
                and not wanted.anchoring_acknowledged
            ):
                raise AnchoringNotAcknowledgedError(
                    f"project {row.name!r} has {row.readers_per_task} readers per task and so "
                    "measures their agreement; AI drafts anchor every reader to the same start "
                    "and inflate it. Send anchoring_acknowledged: true to turn drafts on anyway, "
                    "or keep them for single-reader projects"
                )
            now = self._work.now()
            stored = session.get(AssistSettingsRow, row.id)
            if stored is None:
                stored = AssistSettingsRow(project_id=row.id)
                session.add(stored)
            stored.preannotation = wanted.preannotation
            stored.active_learning = wanted.active_learning
            stored.anchoring_acknowledged = wanted.anchoring_acknowledged
            stored.changed_by = actor[:128]
            stored.changed_at = now
            self._work.record(
                session,
                actor=actor,
                action="changed",
                target_type="project",
                target_id=row.name,
                detail={
                    "assist": {
                        "preannotation": wanted.preannotation,
                        "active_learning": wanted.active_learning,
                        "anchoring_acknowledged": wanted.anchoring_acknowledged,
                    }
                },
            )
            return settings_of(session, row)
