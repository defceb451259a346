"""Liveness: the process answers. Readiness (``/readyz``) lives in :mod:`node.api.metrics`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}
