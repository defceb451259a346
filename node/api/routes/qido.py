"""QIDO-RS: ``GET /dicom-web/.../studies|series|instances`` (PS3.18 §10.6).

Every search answers 200 with a JSON array, ``[]`` when nothing matches:
PS3.18 also allows 204, but an empty array is what dicomweb-client, OHIF
and Slicer handle most simply. Quarantined instances are visible only to
callers with the ``administer`` permission.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from node.api.deps import ImageViewer, Runtime
from node.auth import Permission, Principal
from node.dicom import search
from node.dicom.qido import QidoQuery, parse_qido
from node.store.criteria import Level

router = APIRouter(prefix="/dicom-web", tags=["dicomweb"])

_DICOM_JSON = "application/dicom+json"


def _query(
    request: Request, principal: Principal, level: Level, scope: dict[str, str] | None = None
) -> QidoQuery:
    return parse_qido(
        level,
        request.query_params.multi_items(),
        include_quarantined=principal.can(Permission.ADMINISTER),
        scope=scope,
    )


def _answer(results: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(results, media_type=_DICOM_JSON)


@router.get("/studies")
def search_studies(request: Request, runtime: Runtime, principal: ImageViewer) -> JSONResponse:
    """Search for studies."""
    query = _query(request, principal, Level.STUDY)
    return _answer(search.search_studies(runtime.store, query, str(request.base_url)))


@router.get("/series")
def search_series(request: Request, runtime: Runtime, principal: ImageViewer) -> JSONResponse:
    """Search for series of any study."""
    query = _query(request, principal, Level.SERIES)
    base = str(request.base_url)
    return _answer(search.search_series(runtime.store, query, base, study_in_url=False))


@router.get("/studies/{study}/series")
def search_study_series(
    study: str, request: Request, runtime: Runtime, principal: ImageViewer
) -> JSONResponse:
    """Search for series of one study."""
    query = _query(request, principal, Level.SERIES, {"StudyInstanceUID": study})
    base = str(request.base_url)
    return _answer(search.search_series(runtime.store, query, base, study_in_url=True))


@router.get("/instances")
def search_instances(request: Request, runtime: Runtime, principal: ImageViewer) -> JSONResponse:
    """Search for instances of any study."""
    query = _query(request, principal, Level.INSTANCE)
    return _answer(
        search.search_instances(
            runtime.store, query, str(request.base_url), study_in_url=False, series_in_url=False
        )
    )


@router.get("/studies/{study}/instances")
def search_study_instances(
    study: str, request: Request, runtime: Runtime, principal: ImageViewer
) -> JSONResponse:
    """Search for instances of one study."""
    query = _query(request, principal, Level.INSTANCE, {"StudyInstanceUID": study})
    return _answer(
        search.search_instances(
            runtime.store, query, str(request.base_url), study_in_url=True, series_in_url=False
        )
    )


@router.get("/studies/{study}/series/{series}/instances")
def search_series_instances(
    study: str, series: str, request: Request, runtime: Runtime, principal: ImageViewer
) -> JSONResponse:
    """Search for instances of one series."""
    scope = {"StudyInstanceUID": study, "SeriesInstanceUID": series}
    query = _query(request, principal, Level.INSTANCE, scope)
    return _answer(
        search.search_instances(
            runtime.store, query, str(request.base_url), study_in_url=True, series_in_url=True
        )
    )
