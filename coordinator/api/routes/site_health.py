"""``POST /api/v1/site/health``: a node reports its versions and counters (mTLS)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from coordinator.api.deps import EnrolledSite, Runtime
from coordinator.consortium import HealthReport
from shared.errors import InvalidInputError

router = APIRouter(prefix="/api/v1/site", tags=["site"])


@router.post("/health")
async def report_health(request: Request, runtime: Runtime, site: EnrolledSite) -> dict[str, Any]:
    """Store the site's health report (the node's ``health`` egress kind)."""
    try:
        payload = await request.json()
    except ValueError:
        raise InvalidInputError("health report: the body must be JSON") from None
    info = runtime.site_activity.report(site, HealthReport.from_json(payload))
    return {"site": site, **info.to_json()}
