"""Site routes of model distribution: nodes pull global model versions over mTLS."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from coordinator.api.deps import EnrolledSite, Runtime
from coordinator.api.routes.models import resolve_version

router = APIRouter(prefix="/api/v1/site/models", tags=["site"])

SHA256_HEADER = "X-Harmonia-Weights-SHA256"
"""The response header naming the SHA-256 of the weights sent (the node checks it)."""


@router.get("")
def list_models(runtime: Runtime, site: EnrolledSite) -> dict[str, Any]:
    """Every registered version, with its training plan, for ``site``.

    Each with its name, version, guideline, SHA-256, size and the training plan it
    was trained with (``plan``; the project it ran on apart, as ``project``), so a
    node that pulls it can run it without being told the plan.
    """
    return {
        "site": site,
        "models": [
            {
                "name": v.name,
                "version": v.version,
                "guideline": {"name": v.guideline, "version": v.guideline_version},
                "sha256": v.weights_sha256,
                "bytes": v.weights_bytes,
                "created_at": v.created_at.isoformat(timespec="seconds"),
                "plan": {k: value for k, value in v.plan.items() if k != "project"},
                "project": v.plan.get("project"),
            }
            for v in runtime.models.versions()
        ],
    }


@router.get("/{name}/{version}", response_class=Response)
async def get_weights(name: str, version: str, runtime: Runtime, _site: EnrolledSite) -> Response:
    """The weights file of a version (``latest`` for the newest), verified before sending."""
    found = resolve_version(runtime, name, version)
    data = await run_in_threadpool(runtime.models.weights_of, found)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            SHA256_HEADER: found.weights_sha256,
            "X-Harmonia-Model": f"{found.name}/{found.version}",
        },
    )
