"""Admin routes of the harmonization loop: calibration sets, the report, guideline diffs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from coordinator.api.deps import GuidelineEditor, Runtime, Viewer
from coordinator.errors import CalibrationSetError
from shared.schemas.guideline_diff import diff_guidelines

router = APIRouter(prefix="/api/v1", tags=["harmonization"])


@router.post("/calibration", status_code=201)
async def publish_calibration_set(
    request: Request, runtime: Runtime, principal: GuidelineEditor
) -> dict[str, Any]:
    """Publish a calibration set (phantom recipes for one guideline version), signed."""
    try:
        document = await request.json()
    except ValueError:
        raise CalibrationSetError("the body must be a JSON calibration set") from None
    info = await run_in_threadpool(
        runtime.calibration.publish, document, published_by=principal.username
    )
    return info.to_json()


@router.get("/calibration")
def list_calibration_sets(runtime: Runtime, _principal: Viewer) -> dict[str, Any]:
    """Every published calibration set."""
    return {"sets": [info.to_json() for info in runtime.calibration.published()]}


@router.get("/calibration/{set_id}")
def get_calibration_set(set_id: str, runtime: Runtime, _principal: Viewer) -> dict[str, Any]:
    """A calibration set's signed envelope."""
    return runtime.calibration.envelope(set_id)


@router.get("/harmonization/{guideline}", response_model=None)
def harmonization_report(
    guideline: str,
    runtime: Runtime,
    _principal: Viewer,
    version: str | None = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> dict[str, Any] | Response:
    """The harmonization report of a guideline (its newest version unless ``version``)."""
    report = runtime.harmonization.report(guideline, version)
    if format == "csv":
        return Response(
            report.to_csv(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="harmonization-{report.guideline}-{report.version}.csv"'
                )
            },
        )
    return report.to_json()


@router.get("/guidelines/{name}/diff")
def guideline_diff(
    name: str,
    runtime: Runtime,
    _principal: Viewer,
    from_version: Annotated[str, Query(alias="from")],
    to_version: Annotated[str, Query(alias="to")],
) -> dict[str, Any]:
    """What changed from one published version of a guideline to another."""
    before = runtime.guidelines.guideline(name, from_version)
    after = runtime.guidelines.guideline(name, to_version)
    return diff_guidelines(before, after).to_json()
