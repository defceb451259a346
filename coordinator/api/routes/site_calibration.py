"""Site routes of calibration: fetch signed calibration sets, upload their annotations (mTLS)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from coordinator.api.deps import EnrolledSite, Runtime
from coordinator.errors import CalibrationUploadError

router = APIRouter(prefix="/api/v1/site/calibration", tags=["site"])

MAX_UPLOAD_BYTES = 64 * 2**20
"""Largest calibration upload accepted."""


@router.get("")
def list_sets(runtime: Runtime, site: EnrolledSite) -> dict[str, Any]:
    """Every published calibration set, for ``site``."""
    return {"site": site, "sets": [info.to_json() for info in runtime.calibration.published()]}


@router.get("/{set_id}")
def get_set(set_id: str, runtime: Runtime, _site: EnrolledSite) -> dict[str, Any]:
    """The signed envelope of a set; the node verifies it before generating the cases."""
    return runtime.calibration.envelope(set_id)


@router.post("/{set_id}/annotations")
async def upload_annotations(
    set_id: str, request: Request, runtime: Runtime, site: EnrolledSite
) -> dict[str, Any]:
    """Store the site's calibration annotations (the gate's bytes), replacing earlier ones."""
    body = await request.body()
    if len(body) > MAX_UPLOAD_BYTES:
        raise CalibrationUploadError(f"the upload is over {MAX_UPLOAD_BYTES} bytes; split it")
    try:
        payload = json.loads(body)
    except ValueError:
        raise CalibrationUploadError("the body must be the JSON the egress gate released") from None
    return await run_in_threadpool(runtime.calibration.store_upload, site, set_id, payload)
