"""Guideline upgrades of projects and the re-review queue they fill."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from node.api.deps import ProjectManager, Reviewer, Runtime
from node.api.routes.annotation_json import review_item_json

router = APIRouter(tags=["review"])


class UpgradeCreate(BaseModel):
    """The guideline version a project moves to."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    version: str = Field(min_length=1, max_length=64)


@router.get("/api/review/rereview")
def rereview_queue(runtime: Runtime, caller: Reviewer) -> dict[str, Any]:
    """Review-queue items sent back by a guideline upgrade, with the reason."""
    upgrades = runtime.annotation.upgrades
    items = []
    for item in upgrades.queue(caller):
        items.append(
            {**review_item_json(item), "reason": upgrades.reason(item.task.id, item.reader)}
        )
    return {"items": items}


@router.post("/api/projects/{name}/upgrade")
async def upgrade_project(
    name: str, body: UpgradeCreate, runtime: Runtime, caller: ProjectManager
) -> dict[str, Any]:
    """Move a project to another version of its guideline; changed labels go to re-review."""
    result = await run_in_threadpool(
        runtime.annotation.upgrades.upgrade, name, body.name, body.version, by=caller.username
    )
    return result.to_json()
