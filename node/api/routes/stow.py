"""STOW-RS: ``POST /dicom-web/studies[/{study}]`` (PS3.18 §10.5)."""

from __future__ import annotations

import asyncio
import functools
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from node.api.deps import CurrentPrincipal, Runtime
from node.auth import Permission, Principal
from node.dicom.ingest import IngestOutcome, IngestStatus
from node.dicom.multipart import MultipartRelatedParser, Part, parse_multipart_related_type
from node.dicom.parse import may_have_sop_class
from node.dicom.stow_response import stow_response
from node.errors import (
    FAILURE_CANNOT_UNDERSTAND,
    FAILURE_SOP_CLASS_NOT_SUPPORTED,
    InsufficientScopeError,
    MultipartError,
    RequestTooLargeError,
    UnsupportedMediaTypeError,
)
from node.export import SegImporter, is_segmentation
from node.runtime import NodeRuntime
from shared.formats import SEGMENTATION_STORAGE

router = APIRouter(tags=["dicomweb"])

_DICOM = "application/dicom"
# Parts ingested at once: de-identification holds the GIL, but file and
# database writes do not, so a little overlap pays; more only costs memory.
_IN_FLIGHT = 4


def stow_sender(principal: CurrentPrincipal) -> Principal:
    """Callers with ``ingest`` store any instance; with ``annotate``, their own DICOM SEG."""
    if principal.can(Permission.INGEST) or principal.can(Permission.ANNOTATE):
        return principal
    raise InsufficientScopeError(
        f"{principal.username} may not store instances: it needs the 'ingest' permission "
        "(or 'annotate', to send back DICOM SEG of its own tasks); ask an admin",
        required_scope=Permission.INGEST.value,
    )


StowSender = Annotated[Principal, Depends(stow_sender)]


@router.post("/dicom-web/studies")
async def store_instances(
    request: Request, runtime: Runtime, principal: StowSender
) -> JSONResponse:
    """Store instances of any study."""
    return await _store(request, runtime, principal, expected_study=None)


@router.post("/dicom-web/studies/{study}")
async def store_study_instances(
    study: str, request: Request, runtime: Runtime, principal: StowSender
) -> JSONResponse:
    """Store instances that must all belong to ``study``."""
    return await _store(request, runtime, principal, expected_study=study)


async def _store(
    request: Request, runtime: NodeRuntime, sender: Principal, *, expected_study: str | None
) -> JSONResponse:
    boundary, part_type = parse_multipart_related_type(request.headers.get("content-type"))
    if part_type is not None and part_type.lower() != _DICOM:
        raise UnsupportedMediaTypeError(
            f'multipart/related type "{part_type}" is not supported; this node stores '
            f'type="{_DICOM}" (Part 10 files)'
        )
    settings = runtime.settings
    parser = MultipartRelatedParser(boundary, max_part_bytes=settings.max_instance_bytes)
    source = f"stow:{sender.username}"
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
            store = functools.partial(
                runtime.ingest.ingest_bytes,
                part.body,
                source=source,
                expected_study_uid=expected_study,
                require_part10=True,
            )
            return await run_in_threadpool(_receive, runtime, sender, part.body, store)
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


def _receive(
    runtime: NodeRuntime, sender: Principal, data: bytes, store: functools.partial[IngestOutcome]
) -> IngestOutcome:
    """Store one part; a user's DICOM SEG also becomes annotations (node.export.seg_import)."""
    may_ingest = sender.can(Permission.INGEST)
    if (
        sender.user_id is not None
        and may_have_sop_class(data, SEGMENTATION_STORAGE)  # a cheap "certainly not"
        and is_segmentation(data)
    ):
        importer = SegImporter(
            runtime.engine, runtime.deidentifier.pseudonymize_uid, runtime.annotation.revisions
        )
        return importer.ingest(data, sender.username, store, store_if_not_a_task=may_ingest)
    if not may_ingest:
        return IngestOutcome(
            IngestStatus.REJECTED,
            failure_reason=FAILURE_SOP_CLASS_NOT_SUPPORTED,
            message=f"{sender.username} may send only DICOM SEG of its own tasks "
            "(the 'ingest' permission stores other instances)",
        )
    return store()
