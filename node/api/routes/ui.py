"""The annotator web UI: static ES modules under ``/ui/``, a strict CSP, ``/`` → ``/ui/``.

The files live in the ``node/ui`` package directory and ship in the wheel as
package data; ``/ui/common/`` serves the modules the coordinator's dashboard
shares (``shared/ui``: DOM building, charts). Every ``/ui`` response carries
a Content-Security-Policy that
allows only the node's own scripts, styles, images and API (no inline script,
no third-party origin), so an injected string in an annotation comment or a
DICOM header cannot run as code in a reader's session.
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
        "img-src 'self' blob: data:",
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
    # Revalidate every time: a node upgrade must never leave a reader on stale modules.
    "Cache-Control": "no-cache",
}

router = APIRouter(tags=["ui"], include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    """Send a browser that opens the node's address to the annotator UI."""
    return RedirectResponse(f"{UI_PREFIX}/", status_code=307)


def ui_directory() -> Path:
    """The directory holding ``index.html`` and the ES modules."""
    return Path(str(resources.files("node").joinpath("ui")))


def common_ui_directory() -> Path:
    """The modules both UIs share, served at ``/ui/common/``."""
    return Path(str(resources.files("shared").joinpath("ui")))


class _SecuredStaticFiles(StaticFiles):
    """Static files with the UI's security headers on every answer (404s included)."""

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
    """Serve the UI at ``/ui/`` and redirect ``/`` there."""
    app.include_router(router)
    common = _SecuredStaticFiles(directory=common_ui_directory())
    app.mount(f"{UI_PREFIX}/common", common, name="ui-common")
    app.mount(UI_PREFIX, _SecuredStaticFiles(directory=ui_directory(), html=True), name="ui")
