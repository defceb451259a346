"""Review, adjudication and their queues."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from node.annotate import ReviewDecision
from node.api.deps import Adjudicator, Reviewer, Runtime
from node.api.routes.annotation_json import (
    adjudication_json,
    consensus_json,
    review_item_json,
    task_json,
)
from node.api.routes.annotation_models import (
    AdjudicationCasePublic,
    AdjudicationQueuePublic,
    ConsensusPublic,
    ReviewQueuePublic,
    TaskPublic,
)

router = APIRouter(tags=["review"])


class ReviewCreate(BaseModel):
    """A reviewer's decision on one reader's part."""

    model_config = ConfigDict(extra="forbid")

    reader: str = Field(min_length=1, max_length=128)
    decision: ReviewDecision
    reason: str = Field(default="", max_length=4000)


class AdjudicationCreate(BaseModel):
    """The adjudicator's final annotations (payloads as readers send them)."""

    model_config = ConfigDict(extra="forbid")

    annotations: list[dict[str, Any]] = Field(max_length=10_000)


@router.get("/api/review/queue", response_model=ReviewQueuePublic)
def review_queue(runtime: Runtime, caller: Reviewer) -> dict[str, Any]:
    """Completed reader parts waiting for the caller's review."""
    return {"items": [review_item_json(i) for i in runtime.annotation.review.queue(caller)]}


@router.post("/api/tasks/{task_id}/review", response_model=TaskPublic)
def review_task(
    task_id: int, body: ReviewCreate, runtime: Runtime, caller: Reviewer
) -> dict[str, Any]:
    """Approve or reject a reader's part; a rejection reopens it with the reason."""
    task = runtime.annotation.review.review(
        task_id, reader=body.reader, decision=body.decision, reason=body.reason, principal=caller
    )
    return task_json(task)


@router.get("/api/adjudication/queue", response_model=AdjudicationQueuePublic)
def adjudication_queue(runtime: Runtime, caller: Adjudicator) -> dict[str, Any]:
    """Tasks whose readers disagreed, waiting for the caller."""
    return {"tasks": [task_json(t) for t in runtime.annotation.adjudication.queue(caller)]}


@router.get("/api/tasks/{task_id}/adjudication", response_model=AdjudicationCasePublic)
def adjudication_case(task_id: int, runtime: Runtime, caller: Adjudicator) -> dict[str, Any]:
    """Every reader's annotations side by side, with the agreement figures."""
    return adjudication_json(runtime.annotation.adjudication.case(task_id, caller))


@router.post("/api/tasks/{task_id}/adjudication", response_model=ConsensusPublic)
def adjudicate(
    task_id: int, body: AdjudicationCreate, runtime: Runtime, caller: Adjudicator
) -> dict[str, Any]:
    """Store the final annotations as the task's consensus (method ``adjudicated``)."""
    consensus = runtime.annotation.adjudication.resolve(task_id, body.annotations, caller)
    return consensus_json(runtime.annotation.tasks.record(task_id), consensus)
