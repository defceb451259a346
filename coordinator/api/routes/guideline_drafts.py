"""``POST /api/v1/guidelines/validate``: check a draft (JSON or YAML) without publishing it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from coordinator.api.deps import GuidelineEditor, Runtime
from coordinator.errors import InvalidGuidelineError
from coordinator.guidelines import check_draft

router = APIRouter(prefix="/api/v1/guidelines", tags=["guidelines"])

MAX_DRAFT_BYTES = 2 * 2**20
"""Largest draft accepted (a guideline is a few kilobytes)."""


@router.post("/validate")
async def validate_draft(
    request: Request, runtime: Runtime, _principal: GuidelineEditor
) -> dict[str, Any]:
    """Schema errors answer 422; a valid draft answers its summary, problems and diff."""
    body = await request.body()
    media_type = request.headers.get("content-type", "application/json")
    if len(body) > MAX_DRAFT_BYTES:
        raise InvalidGuidelineError(f"the draft is over {MAX_DRAFT_BYTES} bytes")
    checked = await run_in_threadpool(
        check_draft, runtime.guidelines, body, yaml="yaml" in media_type.lower()
    )
    return checked.to_json()
