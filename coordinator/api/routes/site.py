"""The site-facing API: enrolled nodes, identified by their client certificate (mTLS)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from coordinator.api.deps import EnrolledSite, Runtime

router = APIRouter(prefix="/api/v1/site", tags=["site"])


@router.get("/guidelines")
def list_releases(runtime: Runtime, site: EnrolledSite) -> dict[str, Any]:
    """Every published release (name, version, sha256, signing key), for ``site``."""
    return {"site": site, "releases": [r.to_json() for r in runtime.guidelines.list()]}


@router.get("/guidelines/{name}/{version}")
def get_release(name: str, version: str, runtime: Runtime, _site: EnrolledSite) -> dict[str, Any]:
    """The signed envelope of one release; the node verifies it before use."""
    return runtime.guidelines.envelope(name, version)
