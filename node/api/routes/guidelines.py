"""Guideline versions: load one (JSON or YAML body), list them, read one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from node.annotate import parse_guideline
from node.api.deps import Annotator, ProjectManager, Runtime
from node.api.routes.annotation_json import guideline_json
from node.api.routes.annotation_models import GuidelineListPublic, GuidelineLoaded, GuidelinePublic
from node.errors import RequestTooLargeError

router = APIRouter(prefix="/api/guidelines", tags=["annotation"])

_MAX_GUIDELINE_BYTES = 2 * 1024 * 1024


@router.post("", status_code=201, response_model=GuidelineLoaded)
async def load_guideline(
    request: Request, response: Response, runtime: Runtime, manager: ProjectManager
) -> dict[str, Any]:
    """Load a guideline version: JSON, or YAML with ``Content-Type: application/yaml``.

    201 when new; 200 when the identical version was already loaded; 409 when
    the same name and version exist with other content; 422 when malformed.
    """
    body = await request.body()
    if len(body) > _MAX_GUIDELINE_BYTES:
        raise RequestTooLargeError(
            f"a guideline is at most {_MAX_GUIDELINE_BYTES} bytes", limit_bytes=_MAX_GUIDELINE_BYTES
        )
    guideline = parse_guideline(body, media_type=request.headers.get("content-type", ""))
    version, created = runtime.annotation.guidelines.load(guideline, loaded_by=manager.username)
    if not created:
        response.status_code = 200
    return {**guideline_json(version, full=False), "created": created}


@router.get("", response_model=GuidelineListPublic)
def list_guidelines(runtime: Runtime, _caller: Annotator) -> dict[str, Any]:
    """Every loaded guideline version (without content)."""
    return {
        "guidelines": [guideline_json(v, full=False) for v in runtime.annotation.guidelines.list()]
    }


@router.get("/{name}/{version}", response_model=GuidelinePublic)
def get_guideline(name: str, version: str, runtime: Runtime, _caller: Annotator) -> dict[str, Any]:
    """One guideline version with its full content."""
    return guideline_json(runtime.annotation.guidelines.get(name, version))
