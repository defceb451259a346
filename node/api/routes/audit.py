"""The audit log for administrators: ``GET /api/audit`` and ``GET /api/audit/verify``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from node.api.deps import Administrator, Runtime
from node.audit import verify_audit_log

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("")
def list_entries(
    runtime: Runtime,
    _admin: Administrator,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    after: Annotated[int, Query(ge=0, description="only entries after this seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Entries matching the filters, oldest first; page with ``after`` = the last ``seq``."""
    entries = runtime.audit.search(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        after_seq=after,
        limit=limit,
    )
    return {"entries": [e.to_json() for e in entries], "head": runtime.audit.count()}


@router.get("/verify")
async def verify(runtime: Runtime, _admin: Administrator) -> dict[str, Any]:
    """Walk the whole chain, as ``harmonia-node audit verify`` does."""
    result = await run_in_threadpool(verify_audit_log, runtime.audit)
    return {
        "intact": result.intact,
        "entries": result.entries,
        "first_bad_seq": result.first_bad_seq,
        "problem": result.problem,
        "head_seq": result.head_seq,
        "head_hash": result.head_hash,
        "warnings": list(result.warnings),
    }
