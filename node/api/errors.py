"""The one place that turns domain errors into HTTP responses.

Routes raise domain errors and never build error responses themselves. Any
other exception becomes a 500 with a generic message: the traceback goes to
the log, never to the client.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from node.errors import (
    AccountDisabledError,
    AccountLockedError,
    AnnotationError,
    AuthError,
    BudgetExceededError,
    CsrfError,
    DicomInputError,
    EgressError,
    ExportError,
    GuidelineConflictError,
    InstanceTooLargeError,
    InsufficientScopeError,
    InvalidGuidelineError,
    MultipartError,
    NodeError,
    NotAssignedError,
    NotFoundError,
    ProjectExistsError,
    ProjectSetupError,
    QueryError,
    RenderError,
    RequestTooLargeError,
    RevisionConflictError,
    StoreError,
    TaskStateError,
    UnsupportedMediaTypeError,
    UnsupportedTransferSyntaxError,
    UserExistsError,
    ValidationFailedError,
    WeakPasswordError,
)
from shared.errors import HarmoniaError

__all__ = ["install_error_handlers", "status_for"]

_log = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[HarmoniaError], int], ...] = (
    (InsufficientScopeError, 403),
    (CsrfError, 403),
    (AccountDisabledError, 403),
    (AccountLockedError, 429),
    (AuthError, 401),
    (UserExistsError, 409),
    (WeakPasswordError, 400),
    (NotFoundError, 404),
    (ExportError, 409),
    (ValidationFailedError, 422),
    (InvalidGuidelineError, 422),
    (ProjectSetupError, 422),
    (GuidelineConflictError, 409),
    (ProjectExistsError, 409),
    (RevisionConflictError, 409),
    (TaskStateError, 409),
    (NotAssignedError, 403),
    # The egress gate: a payload the node's privacy policy forbids is a refusal by policy
    # (403: asking again will not help); a spent privacy budget conflicts with the node's
    # current state (409: it clears when the budget period rolls over or an admin raises it).
    (BudgetExceededError, 409),
    (EgressError, 403),
    (AnnotationError, 400),
    (QueryError, 400),
    (MultipartError, 400),
    (RequestTooLargeError, 413),
    (InstanceTooLargeError, 413),
    (UnsupportedMediaTypeError, 415),
    (UnsupportedTransferSyntaxError, 406),
    (RenderError, 422),
    (DicomInputError, 400),
    (StoreError, 503),
    (NodeError, 400),
)


def status_for(error: HarmoniaError) -> int:
    """The HTTP status of a domain error."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def _headers_for(error: HarmoniaError, status: int) -> dict[str, str] | None:
    if status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(error, AccountLockedError):
        wait = (error.retry_at - datetime.now(UTC)).total_seconds()
        return {"Retry-After": str(max(1, math.ceil(wait)))}
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Register the domain-error, validation and last-resort handlers."""

    @app.exception_handler(HarmoniaError)
    async def _domain(request: Request, exc: HarmoniaError) -> JSONResponse:
        status = status_for(exc)
        headers = _headers_for(exc, status)
        if status >= 500:
            _log.error("%s %s failed: %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"error": type(exc).__name__, "detail": str(exc)}, status_code=status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        ]
        return JSONResponse(
            {"error": "InvalidRequest", "detail": "; ".join(problems)}, status_code=400
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": "HTTPError", "detail": exc.detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unexpected error in %s %s", request.method, request.url.path)
        return JSONResponse(
            {"error": "InternalError", "detail": "internal error; see the node's log"},
            status_code=500,
        )
