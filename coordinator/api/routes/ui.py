"""The coordinator dashboard: static ES modules under ``/ui/``, a strict CSP, ``/`` → ``/ui/``.

``/ui/`` serves ``coordinator/ui`` and ``/ui/common/`` the modules the node's
UI uses too (``shared/ui``: DOM building, charts). Every answer carries a
Content-Security-Policy that allows only the coordinator's own scripts,
styles and API (no inline script, no third-party origin), so a string a site
or an author put in a guideline cannot run as code in an admin's session.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "UI_PREFIX",
    "common_ui_directory",
    "install_ui",
    "ui_directory",
]

UI_PREFIX = "/ui"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
"""Sent with every ``/ui`` response."""

_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",  # an upgrade must never leave an admin on stale modules
}

router = APIRouter(tags=["ui"], include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    """Send a browser that opens the coordinator's address to the dashboard."""
    return RedirectResponse(f"{UI_PREFIX}/", status_code=307)


def ui_directory() -> Path:
    """The dashboard's ``index.html`` and ES modules."""
    return Path(str(resources.files("coordinator").joinpath("ui")))


def common_ui_directory() -> Path:
    """The modules the node's and the coordinator's UIs share (``/ui/common/``)."""
    return Path(str(resources.files("shared").joinpath("ui")))


class _SecuredStaticFiles(StaticFiles):
    """Static files with the dashboard's security headers on every answer (404s included)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:  # a missing file: answer here, so the headers go along
            response = PlainTextResponse(str(exc.detail), status_code=exc.status_code)
        response.headers.update(_SECURITY_HEADERS)
        return response

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        if str(args[0] if args else kwargs.get("full_path", "")).endswith(".js"):
            response.headers["Content-Type"] = "text/javascript; charset=utf-8"
        return response


def install_ui(app: FastAPI) -> None:
    """Serve the dashboard at ``/ui/`` (shared modules at ``/ui/common/``), ``/`` there."""
    app.include_router(router)
    app.mount(
        f"{UI_PREFIX}/common",
        _SecuredStaticFiles(directory=common_ui_directory()),
        name="ui-common",
    )
    app.mount(UI_PREFIX, _SecuredStaticFiles(directory=ui_directory(), html=True), name="ui")
