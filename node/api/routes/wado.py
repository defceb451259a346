"""WADO-RS: instances, metadata, frames and bulk data (PS3.18 §10.4).

Instances stream as ``multipart/related; type="application/dicom"``, one
stored file at a time. ``Accept`` picks the transfer syntax: ``*`` (as
stored), or Explicit VR Little Endian (the PS3.18 default when none is
named; the node transcodes). Anything else is answered with 406.
Quarantined instances exist only for administrators (others get 404).
Retrieving instances (not metadata, frames or bulk data, which viewers fetch
by the hundred) is recorded in the audit log as ``viewed``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from node.api.deps import ImageViewer, Runtime
from node.audit import AuditAction
from node.auth import Permission, Principal
from node.dicom import retrieve
from node.dicom.accept import parse_accept
from node.dicom.frames import parse_frame_numbers
from node.dicom.multipart_writer import iter_multipart, multipart_content_type, new_boundary
from node.runtime import NodeRuntime
from node.store.records import InstanceRecord

router = APIRouter(prefix="/dicom-web/studies/{study}", tags=["dicomweb"])

_DICOM_JSON = "application/dicom+json"
_INSTANCE = "/series/{series}/instances/{instance}"


def _records(
    runtime: NodeRuntime,
    principal: Principal,
    study: str,
    series: str | None = None,
    instance: str | None = None,
) -> list[InstanceRecord]:
    return retrieve.select_instances(
        runtime.store,
        study,
        series,
        instance,
        include_quarantined=principal.can(Permission.ADMINISTER),
    )


def _stream(answer: retrieve.MultipartRetrieval) -> StreamingResponse:
    boundary = new_boundary()
    return StreamingResponse(
        iter_multipart(answer.parts, boundary),
        media_type=multipart_content_type(answer.part_type, boundary),
    )


def _instances(
    request: Request,
    runtime: NodeRuntime,
    principal: Principal,
    records: list[InstanceRecord],
    target: tuple[str, str],
) -> StreamingResponse:
    ranges = parse_accept(request.headers.get("accept"))
    answer = retrieve.retrieve_instances(runtime.store, records, ranges)
    runtime.audit.record(
        actor=principal.username,
        action=AuditAction.VIEWED,
        target_type=target[0],
        target_id=target[1],
        detail={"via": "wado-rs", "instances": len(records)},
    )
    return _stream(answer)


def _metadata(
    request: Request, runtime: NodeRuntime, records: list[InstanceRecord]
) -> JSONResponse:
    found = retrieve.retrieve_metadata(runtime.store, records, str(request.base_url))
    return JSONResponse(found, media_type=_DICOM_JSON)


@router.get("")
def retrieve_study(
    study: str, request: Request, runtime: Runtime, principal: ImageViewer
) -> StreamingResponse:
    """All instances of a study."""
    records = _records(runtime, principal, study)
    return _instances(request, runtime, principal, records, ("study", study))


@router.get("/series/{series}")
def retrieve_series(
    study: str, series: str, request: Request, runtime: Runtime, principal: ImageViewer
) -> StreamingResponse:
    """All instances of a series."""
    records = _records(runtime, principal, study, series)
    return _instances(request, runtime, principal, records, ("series", series))


@router.get(_INSTANCE)
def retrieve_instance(
    study: str,
    series: str,
    instance: str,
    request: Request,
    runtime: Runtime,
    principal: ImageViewer,
) -> StreamingResponse:
    """One instance."""
    records = _records(runtime, principal, study, series, instance)
    return _instances(request, runtime, principal, records, ("instance", instance))


@router.get("/metadata")
def study_metadata(
    study: str, request: Request, runtime: Runtime, principal: ImageViewer
) -> JSONResponse:
    """Metadata of every instance of a study."""
    return _metadata(request, runtime, _records(runtime, principal, study))


@router.get("/series/{series}/metadata")
def series_metadata(
    study: str, series: str, request: Request, runtime: Runtime, principal: ImageViewer
) -> JSONResponse:
    """Metadata of every instance of a series."""
    return _metadata(request, runtime, _records(runtime, principal, study, series))


@router.get(_INSTANCE + "/metadata")
def instance_metadata(
    study: str,
    series: str,
    instance: str,
    request: Request,
    runtime: Runtime,
    principal: ImageViewer,
) -> JSONResponse:
    """Metadata of one instance."""
    return _metadata(request, runtime, _records(runtime, principal, study, series, instance))


@router.get(_INSTANCE + "/frames/{frames}")
def retrieve_frames(
    study: str,
    series: str,
    instance: str,
    frames: str,
    request: Request,
    runtime: Runtime,
    principal: ImageViewer,
) -> StreamingResponse:
    """Frames of one instance: raw little-endian bytes, or as stored when asked."""
    (record,) = _records(runtime, principal, study, series, instance)
    numbers = parse_frame_numbers(frames)
    ranges = parse_accept(request.headers.get("accept"))
    return _stream(retrieve.retrieve_frames(runtime.store, record, numbers, ranges))


@router.get(_INSTANCE + "/bulkdata/{tag}")
def retrieve_bulkdata(
    study: str,
    series: str,
    instance: str,
    tag: str,
    request: Request,
    runtime: Runtime,
    principal: ImageViewer,
) -> StreamingResponse:
    """One top-level bulk attribute named by a metadata BulkDataURI."""
    (record,) = _records(runtime, principal, study, series, instance)
    ranges = parse_accept(request.headers.get("accept"))
    return _stream(retrieve.retrieve_bulkdata(runtime.store, record, tag, ranges))
