"""The local quality dashboard's data: ``/api/quality/{project}`` and its views.

Every view answers JSON (default) or CSV (``?format=csv``, ``text/csv`` with a
file name); ``?period=week|month`` sets the drift windows. Needs the
``view_quality`` permission; each request is audited (``viewed``, or
``exported`` for CSV).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from node.api.deps import QualityViewer, Runtime
from node.auth import Principal
from node.quality import DriftSettings, ExportFormat, Period, QualityService, View, export
from node.runtime import NodeRuntime

router = APIRouter(prefix="/api/quality", tags=["quality"])

FormatQuery = Annotated[str, Query(alias="format", description="json or csv")]
PeriodQuery = Annotated[Literal["week", "month"], Query(description="drift window")]


def _service(request: Request, runtime: NodeRuntime) -> QualityService:
    """The app's one quality service (it caches per-task STAPLE runs), made on first use."""
    service = getattr(request.app.state, "quality", None)
    if not isinstance(service, QualityService):
        service = QualityService(runtime.engine)
        request.app.state.quality = service
    return service


def _answer(
    request: Request,
    runtime: NodeRuntime,
    principal: Principal,
    project: str,
    view: View,
    fmt: str,
    period: str,
) -> Response:
    chosen = ExportFormat.parse(fmt)
    report = _service(request, runtime).report(
        project, drift_settings=DriftSettings(period=Period(period))
    )
    text, media_type, filename = export(report, view, chosen)
    runtime.audit.record(
        actor=principal.username,
        action="exported" if chosen is ExportFormat.CSV else "viewed",
        target_type="quality",
        target_id=project,
        detail={"view": view.value, "format": chosen.value},
    )
    disposition = "attachment" if chosen is ExportFormat.CSV else "inline"
    return Response(
        content=text,
        media_type=media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


@router.get("/{project}")
def summary(
    project: str,
    request: Request,
    runtime: Runtime,
    principal: QualityViewer,
    fmt: FormatQuery = "json",
    period: PeriodQuery = "month",
) -> Response:
    """Everything: labels, versions, pairs, readers, drift, findings (CSV: the label table)."""
    return _answer(request, runtime, principal, project, View.SUMMARY, fmt, period)


@router.get("/{project}/labels")
def labels(
    project: str,
    request: Request,
    runtime: Runtime,
    principal: QualityViewer,
    fmt: FormatQuery = "json",
    period: PeriodQuery = "month",
) -> Response:
    """Agreement per label, overall and per guideline version."""
    return _answer(request, runtime, principal, project, View.LABELS, fmt, period)


@router.get("/{project}/readers")
def readers(
    project: str,
    request: Request,
    runtime: Runtime,
    principal: QualityViewer,
    fmt: FormatQuery = "json",
    period: PeriodQuery = "month",
) -> Response:
    """Each reader's figures, overall and per label (STAPLE, consensus, habits)."""
    return _answer(request, runtime, principal, project, View.READERS, fmt, period)


@router.get("/{project}/pairs")
def pairs(
    project: str,
    request: Request,
    runtime: Runtime,
    principal: QualityViewer,
    fmt: FormatQuery = "json",
    period: PeriodQuery = "month",
) -> Response:
    """Agreement per label and reader pair."""
    return _answer(request, runtime, principal, project, View.PAIRS, fmt, period)


@router.get("/{project}/drift")
def drift(
    project: str,
    request: Request,
    runtime: Runtime,
    principal: QualityViewer,
    fmt: FormatQuery = "json",
    period: PeriodQuery = "month",
) -> Response:
    """Agreement per label and window, with the latest window's flags."""
    return _answer(request, runtime, principal, project, View.DRIFT, fmt, period)


@router.get("/{project}/checks")
def checks(
    project: str,
    request: Request,
    runtime: Runtime,
    principal: QualityViewer,
    fmt: FormatQuery = "json",
    period: PeriodQuery = "month",
) -> Response:
    """Findings of the automated checks, most severe first."""
    return _answer(request, runtime, principal, project, View.CHECKS, fmt, period)
