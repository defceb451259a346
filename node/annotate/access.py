"""Who may see and act on a task, and blinding.

* An assigned reader sees the task and only their own annotations while the
  task is open (blinded); once every reader has completed, they see everyone's.
* A listed reviewer of the project, or a project manager (admin), sees the task
  and every annotation, but only if they are not one of its readers: a reader
  never reviews or adjudicates their own task.
* Anyone else gets :class:`~node.errors.NotAssignedError` (HTTP 403).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from node.annotate.queries import is_reviewer, reader_part
from node.auth.roles import Permission, Principal
from node.errors import NotAssignedError
from node.store.annotation_tables import TaskRow

__all__ = ["can_oversee", "require_overseer", "require_viewer", "sees_everyone"]


def can_oversee(session: Session, principal: Principal, task: TaskRow) -> bool:
    """Whether the principal may review or adjudicate the task (and is not its reader)."""
    if reader_part(session, task.id, principal.username) is not None:
        return False
    if principal.can(Permission.MANAGE_PROJECTS):
        return True
    return (
        principal.can(Permission.REVIEW) or principal.can(Permission.ADJUDICATE)
    ) and is_reviewer(session, task.project_id, principal.username)


def require_viewer(session: Session, principal: Principal, task: TaskRow) -> None:
    """Refuse principals who are neither a reader of the task nor may oversee it."""
    if reader_part(session, task.id, principal.username) is not None:
        return
    if can_oversee(session, principal, task):
        return
    raise NotAssignedError(
        f"you are not a reader of task {task.id} nor a reviewer of its project; "
        "ask the project's admin to assign you"
    )


def require_overseer(session: Session, principal: Principal, task: TaskRow, what: str) -> None:
    """Refuse principals who may not review or adjudicate the task."""
    if can_oversee(session, principal, task):
        return
    if reader_part(session, task.id, principal.username) is not None:
        raise NotAssignedError(f"you are a reader of task {task.id}; you cannot {what} it")
    raise NotAssignedError(
        f"you are not a reviewer of task {task.id}'s project; ask its admin to add you "
        "to the project's reviewers"
    )


def sees_everyone(session: Session, principal: Principal, task: TaskRow) -> bool:
    """Whether blinding is lifted for this principal on this task."""
    if reader_part(session, task.id, principal.username) is not None:
        return task.status != "open"
    return can_oversee(session, principal, task)
