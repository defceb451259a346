"""The one place that turns domain errors into HTTP responses.

Routes raise domain errors; this maps each family to a status and answers
``{"error": Type, "detail": message}``. Anything else is a 500 with a generic
message; the traceback goes to the log, never to the client.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from coordinator.errors import (
    AuthError,
    CalibrationSetError,
    CalibrationSetExistsError,
    CalibrationUploadError,
    CertificateRejectedError,
    CertificateRequiredError,
    CsrfError,
    GuidelineVersionError,
    InvalidGuidelineError,
    NotFoundError,
    PermissionDeniedError,
    RoundResultExistsError,
    SiteExistsError,
    SiteRevokedError,
    SuperLinkUnavailableError,
    TokenExpiredError,
    TokenSiteMismatchError,
    TokenUnknownError,
    TokenUsedError,
    TrainingRequestError,
    TrainingRunActiveError,
)
from shared.crypto import CsrError, KeyFileError
from shared.errors import HarmoniaError, InvalidInputError
from shared.schemas.training import TrainingPlanError

__all__ = ["install_error_handlers", "status_for"]

_log = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[HarmoniaError], int], ...] = (
    (PermissionDeniedError, 403),
    (CsrfError, 403),
    (AuthError, 401),
    (NotFoundError, 404),
    (SiteExistsError, 409),
    (TokenUnknownError, 401),
    (TokenUsedError, 409),
    (TokenExpiredError, 410),
    (TokenSiteMismatchError, 403),
    (SiteRevokedError, 403),
    (CertificateRequiredError, 401),
    (CertificateRejectedError, 403),
    (InvalidGuidelineError, 422),
    (GuidelineVersionError, 409),
    (CalibrationSetExistsError, 409),
    (CalibrationSetError, 422),
    (CalibrationUploadError, 422),
    (RoundResultExistsError, 409),
    (TrainingRequestError, 422),
    (TrainingPlanError, 422),
    (SuperLinkUnavailableError, 409),
    (TrainingRunActiveError, 409),
    (CsrError, 400),
    (KeyFileError, 400),
    (InvalidInputError, 400),
)


def status_for(error: HarmoniaError) -> int:
    """The HTTP status of a domain error (500 for anything unmapped)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def install_error_handlers(app: FastAPI) -> None:
    """Register the domain-error, validation and last-resort handlers."""

    @app.exception_handler(HarmoniaError)
    async def _domain(request: Request, exc: HarmoniaError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            _log.error("%s %s failed: %s", request.method, request.url.path, exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
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
            {"error": "InternalError", "detail": "internal error; see the coordinator's log"},
            status_code=500,
        )
