"""``/healthz``: liveness, without credentials."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    """The coordinator is up."""
    return {"status": "ok"}
