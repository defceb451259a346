"""STOW-RS: ``POST /dicom-web/studies[/{study}]`` (PS3.18 §10.5)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from node.api.deps import Ingestor, Runtime
from node.dicom.ingest import IngestOutcome, IngestStatus
from node.dicom.multipart import MultipartRelatedParser, Part, parse_multipart_related_type
from node.dicom.stow_response import stow_response
from node.errors import (
    FAILURE_CANNOT_UNDERSTAND,
    MultipartError,
    RequestTooLargeError,
    UnsupportedMediaTypeError,
)
from node.runtime import NodeRuntime

router = APIRouter(tags=["dicomweb"])

_DICOM = "application/dicom"
# Parts ingested at once: de-identification holds the GIL, but file and
# database writes do not, so a little overlap pays; more only costs memory.
_IN_FLIGHT = 4


@router.post("/dicom-web/studies")
async def store_instances(request: Request, runtime: Runtime, principal: Ingestor) -> JSONResponse:
    """Store instances of any study."""
    return await _store(request, runtime, principal.username, expected_study=None)


@router.post("/dicom-web/studies/{study}")
async def store_study_instances(
    study: str, request: Request, runtime: Runtime, principal: Ingestor
) -> JSONResponse:
    """Store instances that must all belong to ``study``."""
    return await _store(request, runtime, principal.username, expected_study=study)


async def _store(
    request: Request, runtime: NodeRuntime, sender: str, *, expected_study: str | None
) -> JSONResponse:
    boundary, part_type = parse_multipart_related_type(request.headers.get("content-type"))
    if part_type is not None and part_type.lower() != _DICOM:
        raise UnsupportedMediaTypeError(
            f'multipart/related type "{part_type}" is not supported; this node stores '
            f'type="{_DICOM}" (Part 10 files)'
        )
    settings = runtime.settings
    parser = MultipartRelatedParser(boundary, max_part_bytes=settings.max_instance_bytes)
    source = f"stow:{sender}"
    slots = asyncio.Semaphore(_IN_FLIGHT)
    pending: list[asyncio.Task[IngestOutcome]] = []

    async def ingest(part: Part) -> IngestOutcome:
        try:
            if part.content_type not in ("", _DICOM):
                return IngestOutcome(
                    IngestStatus.REJECTED,
                    failure_reason=FAILURE_CANNOT_UNDERSTAND,
                    message=f"part of type {part.content_type} is not application/dicom",
                )
            return await run_in_threadpool(
                runtime.ingest.ingest_bytes,
                part.body,
                source=source,
                expected_study_uid=expected_study,
                require_part10=True,
            )
        finally:
            slots.release()

    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > settings.max_request_bytes:
                raise RequestTooLargeError(
                    f"request body exceeds the node's limit of {settings.max_request_bytes} "
                    "bytes (max_request_bytes); split the upload into several requests",
                    limit_bytes=settings.max_request_bytes,
                )
            for part in parser.feed(chunk):
                await slots.acquire()
                pending.append(asyncio.create_task(ingest(part)))
        parser.close()
        if not pending:
            raise MultipartError("the multipart body holds no parts")
    finally:
        outcomes = await asyncio.gather(*pending)
    status, body = stow_response(outcomes, studies_url=f"{request.base_url}dicom-web/studies")
    return JSONResponse(body, status_code=status, media_type="application/dicom+json")
