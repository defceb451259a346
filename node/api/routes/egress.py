"""The egress ledger for administrators: entries, budgets, verification and export."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from node.api.deps import Administrator, Runtime
from node.audit import AuditAction
from node.egress import (
    LedgerFormat,
    Outcome,
    PrivacyBudget,
    Purpose,
    purpose_spending,
    render_ledger,
)
from node.learn.privacy import TrainingPolicy
from node.runtime import NodeRuntime
from node.stats import StatisticsPolicy

router = APIRouter(prefix="/api/egress", tags=["egress"])


@router.get("")
def list_entries(
    runtime: Runtime,
    _admin: Administrator,
    kind: str | None = None,
    outcome: Outcome | None = None,
    after: Annotated[int, Query(ge=0, description="only entries after this seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Entries oldest first; page with ``after`` = the last ``seq``."""
    ledger = runtime.egress_ledger
    entries = ledger.entries(kind=kind, outcome=outcome, after_seq=after, limit=limit)
    head = ledger.head()
    return {"entries": [e.to_json() for e in entries], "head": head.seq if head else 0}


@router.get("/budgets")
async def budgets(runtime: Runtime, _admin: Administrator) -> dict[str, Any]:
    """Per purpose: the site's budget, what the released entries spent, what is left."""
    spending = await run_in_threadpool(_spending, runtime)
    return {"purposes": [s.to_json() for s in spending]}


@router.get("/verify")
async def verify(runtime: Runtime, _admin: Administrator) -> dict[str, Any]:
    """Walk the ledger's keyed chain, as ``harmonia-node egress verify`` does."""
    result = await run_in_threadpool(runtime.egress_ledger.verify)
    return {
        "intact": result.intact,
        "entries": result.entries,
        "first_bad_seq": result.first_bad_seq,
        "problem": result.problem,
        "head_seq": result.head_seq,
        "head_hash": result.head_hash,
        "warnings": list(result.warnings),
    }


@router.get("/export")
async def export(
    runtime: Runtime,
    admin: Administrator,
    fmt: Annotated[LedgerFormat, Query(alias="format")] = LedgerFormat.JSONL,
) -> Response:
    """The whole ledger as a download, as ``harmonia-node egress export`` writes it."""
    entries = await run_in_threadpool(runtime.egress_ledger.entries)
    text = render_ledger(entries, fmt)
    runtime.audit.record(
        actor=admin.username,
        action=AuditAction.EXPORTED,
        target_type="egress_ledger",
        target_id=str(entries[-1].seq if entries else 0),
        detail={"format": fmt.value, "entries": len(entries)},
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        text,
        media_type=fmt.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="egress-ledger-{stamp}.{fmt.value}"'
        },
    )


def _spending(runtime: NodeRuntime) -> list[Any]:
    data_dir = runtime.settings.data_dir
    statistics = StatisticsPolicy.load(data_dir)
    training = TrainingPolicy.load(data_dir)
    budgets: dict[Purpose, PrivacyBudget | None] = {
        Purpose.STATISTICS: statistics.budget() if statistics else None,
        Purpose.TRAINING: training.budget() if training else None,
    }
    return purpose_spending(runtime.egress_ledger, budgets)
