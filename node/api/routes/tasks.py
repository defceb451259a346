"""Worklists, tasks, annotations and their revisions, completion, consensus.

Every save is one transaction, committed (durably) before the response is
sent; the audit entry commits with it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict

from node.api.deps import Annotator, ProjectManager, Runtime
from node.api.routes.annotation_json import (
    agreement_json,
    annotation_json,
    consensus_json,
    task_json,
    task_summary_json,
    task_view_json,
    worklist_item_json,
)
from node.api.routes.annotation_models import (
    AgreementPublic,
    AnnotationPublic,
    ConsensusPublic,
    DiffPublic,
    RevisionListPublic,
    RevisionPublic,
    TaskDetailPublic,
    TaskPublic,
    TaskSummaryPublic,
    WorklistPublic,
)
from node.errors import InvalidPayloadError

router = APIRouter(tags=["annotation"])

AnnotationBody = Annotated[dict[str, Any], Body(description="an annotation payload")]


class TaskChange(BaseModel):
    """Changes an admin may make to a task."""

    model_config = ConfigDict(extra="forbid")

    priority: int


@router.get("/api/worklist", response_model=WorklistPublic)
def worklist(
    runtime: Runtime,
    caller: Annotator,
    project: str | None = None,
    status: str | None = None,
    sort: str = "priority",
) -> dict[str, Any]:
    """The caller's tasks with progress; filter by project and status."""
    found = runtime.annotation.tasks.worklist(
        caller.username, project=project, status=status, sort=sort
    )
    return {
        "tasks": [worklist_item_json(item) for item in found.items],
        "progress": {"done": found.done, "total": found.total},
    }


@router.get("/api/tasks/{task_id}", response_model=TaskDetailPublic)
def get_task(task_id: int, runtime: Runtime, caller: Annotator) -> dict[str, Any]:
    """The task: slices, guideline and annotations (only the caller's while blinded)."""
    view = runtime.annotation.tasks.view(task_id, caller)
    return task_view_json(view, caller.username)


@router.patch("/api/tasks/{task_id}", response_model=TaskPublic)
def change_task(
    task_id: int, body: TaskChange, runtime: Runtime, manager: ProjectManager
) -> dict[str, Any]:
    """Change a task's priority."""
    task = runtime.annotation.tasks.set_priority(task_id, body.priority, actor=manager.username)
    return task_json(task)


@router.post("/api/tasks/{task_id}/annotations", status_code=201, response_model=AnnotationPublic)
def create_annotation(
    task_id: int, body: AnnotationBody, runtime: Runtime, caller: Annotator
) -> dict[str, Any]:
    """Save a new annotation (revision 1)."""
    record = runtime.annotation.revisions.create(task_id, caller.username, body)
    return annotation_json(record)


@router.put("/api/annotations/{annotation_id}", response_model=AnnotationPublic)
def revise_annotation(
    annotation_id: int, body: AnnotationBody, runtime: Runtime, caller: Annotator
) -> dict[str, Any]:
    """Save a new revision on top of ``base_revision`` (409 if that is not the head)."""
    payload = dict(body)
    base = payload.pop("base_revision", None)
    if not isinstance(base, int) or isinstance(base, bool):
        raise InvalidPayloadError(
            "send 'base_revision': the revision number your edit starts from", field="base_revision"
        )
    record = runtime.annotation.revisions.revise(annotation_id, caller.username, base, payload)
    return annotation_json(record)


@router.delete("/api/annotations/{annotation_id}", response_model=AnnotationPublic)
def delete_annotation(
    annotation_id: int,
    runtime: Runtime,
    caller: Annotator,
    base_revision: Annotated[int, Query()],
) -> dict[str, Any]:
    """Delete by appending a tombstone revision; the history stays."""
    record = runtime.annotation.revisions.tombstone(annotation_id, caller.username, base_revision)
    return annotation_json(record)


@router.get("/api/annotations/{annotation_id}/revisions", response_model=RevisionListPublic)
def list_revisions(annotation_id: int, runtime: Runtime, caller: Annotator) -> dict[str, Any]:
    """Every revision, oldest first."""
    revisions = runtime.annotation.revisions.history(annotation_id, caller)
    return {"annotation_id": annotation_id, "revisions": [r.to_json() for r in revisions]}


@router.get("/api/annotations/{annotation_id}/revisions/{number}", response_model=RevisionPublic)
def get_revision(
    annotation_id: int, number: int, runtime: Runtime, caller: Annotator
) -> dict[str, Any]:
    """One revision."""
    return runtime.annotation.revisions.revision(annotation_id, number, caller).to_json()


@router.get("/api/annotations/{annotation_id}/diff", response_model=DiffPublic)
def diff_revisions(
    annotation_id: int,
    runtime: Runtime,
    caller: Annotator,
    before: Annotated[int, Query(alias="from", ge=1)],
    after: Annotated[int, Query(alias="to", ge=1)],
) -> dict[str, Any]:
    """What changed between two revisions."""
    return runtime.annotation.revisions.diff(annotation_id, before, after, caller)


@router.post("/api/tasks/{task_id}/complete", response_model=TaskSummaryPublic)
def complete_task(task_id: int, runtime: Runtime, caller: Annotator) -> dict[str, Any]:
    """Mark the caller's part done (422 naming any missing required label)."""
    task = runtime.annotation.tasks.complete(task_id, caller.username)
    return task_summary_json(task, caller.username)


@router.get("/api/tasks/{task_id}/consensus", response_model=ConsensusPublic)
def get_consensus(task_id: int, runtime: Runtime, caller: Annotator) -> dict[str, Any]:
    """The task's consensus per label, with its method (once every reader has completed)."""
    consensus = runtime.annotation.tasks.consensus(task_id, caller)
    view_task = runtime.annotation.tasks.record(task_id)
    return consensus_json(view_task, consensus)


@router.get("/api/tasks/{task_id}/agreement", response_model=AgreementPublic)
def get_agreement(task_id: int, runtime: Runtime, caller: Annotator) -> dict[str, Any]:
    """The agreement figures of the task's current round (empty while blinded)."""
    return {
        "task_id": task_id,
        "agreement": agreement_json(runtime.annotation.tasks.agreement(task_id, caller)),
    }
