"""Admin routes for sites: add (a one-time enrollment token), list, revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from coordinator.api.deps import Runtime, SiteManager, Viewer

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])


class SiteCreate(BaseModel):
    """A site to register."""

    name: str
    expires_in_hours: float | None = Field(default=None, gt=0)


@router.get("")
def list_sites(runtime: Runtime, _principal: Viewer) -> dict[str, Any]:
    """Every registered site."""
    return {"sites": [site.to_json() for site in runtime.sites.list()]}


@router.post("", status_code=201)
def add_site(body: SiteCreate, runtime: Runtime, principal: SiteManager) -> dict[str, Any]:
    """Register a site (or re-invite one) and return its one-time enrollment token."""
    expires = timedelta(hours=body.expires_in_hours) if body.expires_in_hours else None
    issued = runtime.sites.add(body.name, created_by=principal.username, expires_in=expires)
    return {
        "site": issued.site,
        "token": issued.token,
        "expires_at": issued.expires_at.isoformat(),
        "coordinator_url": runtime.settings.resolved_public_url,
    }


@router.get("/{name}")
def get_site(name: str, runtime: Runtime, _principal: Viewer) -> dict[str, Any]:
    """One site."""
    return runtime.sites.get(name).to_json()


@router.post("/{name}/revoke")
def revoke_site(name: str, runtime: Runtime, _principal: SiteManager) -> dict[str, Any]:
    """Revoke a site and all its certificates."""
    return runtime.sites.revoke(name).to_json()
