"""Liveness and readiness: the only endpoints that need no token."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from node.api.deps import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(runtime: Runtime) -> dict[str, str]:
    """The database answers."""
    with runtime.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ready"}
