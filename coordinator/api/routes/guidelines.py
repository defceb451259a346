"""Admin routes for guideline releases: publish (JSON or YAML), list, read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from coordinator.api.deps import GuidelineEditor, Runtime, Viewer
from coordinator.guidelines import parse_guideline_document

router = APIRouter(prefix="/api/v1/guidelines", tags=["guidelines"])


@router.post("", status_code=201)
async def publish(request: Request, runtime: Runtime, principal: GuidelineEditor) -> dict[str, Any]:
    """Publish a new signed release; YAML with ``Content-Type: application/yaml``."""
    media_type = request.headers.get("content-type", "application/json")
    guideline = parse_guideline_document(await request.body(), yaml="yaml" in media_type.lower())
    release = await run_in_threadpool(
        runtime.guidelines.publish, guideline, published_by=principal.username
    )
    return release.to_json()


@router.get("")
def list_releases(runtime: Runtime, _principal: Viewer) -> dict[str, Any]:
    """Every published release."""
    return {"releases": [release.to_json() for release in runtime.guidelines.list()]}


@router.get("/{name}/{version}")
def get_release(name: str, version: str, runtime: Runtime, _principal: Viewer) -> dict[str, Any]:
    """The signed envelope of one release."""
    return runtime.guidelines.envelope(name, version)
