"""AI assistance: settings, drafts and their accept / edit / reject, runs, ranking, tracking.

Readers resolve drafts of their own tasks (``annotate``); project managers
change the settings and read runs and ranking (``manage_projects``); the
tracking figures belong to the quality dashboard (``view_quality``). The
domain lives in :mod:`node.assist`; these routes parse, call and return.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from node.api.deps import Annotator, ProjectManager, QualityViewer, Runtime
from node.api.routes.assist_models import (
    AcceptBody,
    AcceptPublic,
    EditBody,
    ProposalListPublic,
    ProposalResultPublic,
    RankingPublic,
    RejectBody,
    RunListPublic,
    SettingsChange,
    SettingsPublic,
    TrackingPublic,
)
from node.assist import AssistService
from node.runtime import NodeRuntime

router = APIRouter(tags=["assist"])


def _assist(request: Request, runtime: NodeRuntime) -> AssistService:
    """The app's one AI-assistance service, made on first use."""
    service = getattr(request.app.state, "assist", None)
    if not isinstance(service, AssistService):
        service = AssistService(runtime.annotation, runtime.store)
        request.app.state.assist = service
    return service


@router.get("/api/projects/{project}/assist", response_model=SettingsPublic)
def get_settings(
    project: str, request: Request, runtime: Runtime, _manager: ProjectManager
) -> dict[str, Any]:
    """The project's AI-assistance settings (all off until turned on)."""
    return _assist(request, runtime).settings.get(project).to_json()


@router.put("/api/projects/{project}/assist", response_model=SettingsPublic)
def change_settings(
    project: str,
    body: SettingsChange,
    request: Request,
    runtime: Runtime,
    manager: ProjectManager,
) -> dict[str, Any]:
    """Turn drafts or active learning on or off.

    Drafts on a multi-reader project need ``anchoring_acknowledged`` (422 otherwise).
    """
    return (
        _assist(request, runtime)
        .settings.configure(
            project,
            actor=manager.username,
            preannotation=body.preannotation,
            active_learning=body.active_learning,
            anchoring_acknowledged=body.anchoring_acknowledged,
        )
        .to_json()
    )


@router.get("/api/projects/{project}/assist/runs", response_model=RunListPublic)
def list_runs(
    project: str, request: Request, runtime: Runtime, _manager: ProjectManager
) -> dict[str, Any]:
    """The project's inference runs, newest first."""
    runs = _assist(request, runtime).scores.runs(project)
    return {"project": project, "runs": [r.to_json() for r in runs]}


@router.get("/api/projects/{project}/assist/ranking", response_model=RankingPublic)
def ranking(
    project: str, request: Request, runtime: Runtime, _manager: ProjectManager
) -> dict[str, Any]:
    """Open tasks by their latest score (uncertainty and predicted disagreement)."""
    service = _assist(request, runtime)
    settings = service.settings.get(project)
    return {
        "project": project,
        "active_learning": settings.active_learning,
        "tasks": [
            {**score.to_json(), "model": model.to_json(), "task_priority": priority}
            for score, model, priority in service.scores.ranking(project)
        ],
    }


@router.get("/api/projects/{project}/assist/tracking", response_model=TrackingPublic)
def tracking(
    project: str, request: Request, runtime: Runtime, _viewer: QualityViewer
) -> dict[str, Any]:
    """Acceptance rate and edit Dice of the project's drafts, per model version and label."""
    return _assist(request, runtime).tracking.project(project)


@router.get("/api/tasks/{task_id}/proposals", response_model=ProposalListPublic)
def task_proposals(
    task_id: int, request: Request, runtime: Runtime, caller: Annotator
) -> dict[str, Any]:
    """The task's AI drafts, each with the caller's own status."""
    enabled, proposals = _assist(request, runtime).proposals.for_task(task_id, caller)
    return {
        "task_id": task_id,
        "enabled": enabled,
        "proposals": [p.to_json() for p in proposals],
    }


@router.post("/api/proposals/{proposal_id}/accept", response_model=AcceptPublic)
def accept(
    proposal_id: int, body: AcceptBody, request: Request, runtime: Runtime, caller: Annotator
) -> dict[str, Any]:
    """Save the draft unchanged as the caller's own annotation."""
    proposal, annotation = _assist(request, runtime).proposals.accept(
        proposal_id, caller.username, confidence=body.confidence, comment=body.comment
    )
    return {"proposal": proposal.to_json(), "annotation": annotation.to_json()}


@router.post("/api/proposals/{proposal_id}/edit", response_model=ProposalResultPublic)
def edit(
    proposal_id: int, body: EditBody, request: Request, runtime: Runtime, caller: Annotator
) -> dict[str, Any]:
    """Record the caller's saved annotation as their edit of the draft, with its Dice."""
    proposal = _assist(request, runtime).proposals.link_edit(
        proposal_id, caller.username, body.annotation_id
    )
    return {"proposal": proposal.to_json()}


@router.post("/api/proposals/{proposal_id}/reject", response_model=ProposalResultPublic)
def reject(
    proposal_id: int, body: RejectBody, request: Request, runtime: Runtime, caller: Annotator
) -> dict[str, Any]:
    """Reject the draft (with an optional reason); nothing is saved as an annotation."""
    proposal = _assist(request, runtime).proposals.reject(proposal_id, caller.username, body.reason)
    return {"proposal": proposal.to_json()}
