"""Alerts for administrators: ``GET /api/alerts`` and ``POST /api/alerts/{id}/dismiss``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from node.alerts import AlertStore
from node.api.deps import Administrator, Runtime
from node.audit import AuditAction

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


@router.get("")
def list_alerts(
    runtime: Runtime, _admin: Administrator, include_dismissed: bool = False
) -> dict[str, Any]:
    """Open alerts, newest first (and dismissed ones with ``include_dismissed``)."""
    alerts = AlertStore(runtime.engine).list(include_dismissed=include_dismissed)
    return {"alerts": [a.to_json() for a in alerts]}


@router.post("/{alert_id}/dismiss")
def dismiss(alert_id: int, runtime: Runtime, admin: Administrator) -> dict[str, Any]:
    """Dismiss an alert; the same problem again counts up on it without reopening it."""
    alert = AlertStore(runtime.engine).dismiss(alert_id, by=admin.username)
    runtime.audit.record(
        actor=admin.username,
        action=AuditAction.CHANGED,
        target_type="alert",
        target_id=str(alert.id),
        detail={"dismissed": alert.subject},
    )
    return alert.to_json()
