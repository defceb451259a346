"""Admin routes the dashboard reads: the sites' overview and the history of statistics rounds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from coordinator.api.deps import Runtime, Viewer
from coordinator.consortium import site_overview

router = APIRouter(prefix="/api/v1", tags=["dashboard"])


@router.get("/dashboard/sites")
def sites_overview(runtime: Runtime, _principal: Viewer) -> dict[str, Any]:
    """Every site with its status, last call, reported version and reported privacy charges."""
    charges = {site: c.to_json() for site, c in runtime.rounds.charges().items()}
    return {
        "sites": site_overview(runtime.sites.list(), runtime.site_activity.all(), charges),
        "privacy_note": (
            "epsilon_sum adds the (epsilon, delta) each site reported per release in the stored "
            "rounds (basic composition): an upper bound. The node's own accountant (RDP) is "
            "tighter, and only the node knows its budget's limit: its egress ledger is "
            "authoritative."
        ),
    }


@router.get("/rounds")
def list_rounds(runtime: Runtime, _principal: Viewer) -> dict[str, Any]:
    """Every stored statistics round, newest first."""
    return {"rounds": runtime.rounds.summaries()}


@router.get("/rounds/{round_id}")
def get_round(round_id: str, runtime: Runtime, _principal: Viewer) -> dict[str, Any]:
    """A stored round's whole result: participation, bytes, charges, pooled figures."""
    return runtime.rounds.get(round_id)
