"""Dashboard sign-in: ``/api/v1/auth/login``, ``/logout`` and ``/me``.

An admin signs in with their admin token, sent once in the POST body. The
answer sets the ``harmonia_coordinator_session`` cookie (HttpOnly,
SameSite=Strict, Secure when the coordinator's public URL is https) and
returns the session's CSRF token, which the dashboard sends back in
``X-CSRF-Token``. The token itself is never stored in the browser.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from coordinator.api.deps import SESSION_COOKIE, CurrentAdmin, Runtime
from coordinator.auth import ROLE_PERMISSIONS, AdminPrincipal, AdminSession
from coordinator.runtime import CoordinatorRuntime

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginRequest(BaseModel):
    """The admin token (``token create`` printed it)."""

    token: str = Field(min_length=1, max_length=256)


def _secure(runtime: CoordinatorRuntime) -> bool:
    return runtime.settings.resolved_public_url.startswith("https://")


def _principal_json(principal: AdminPrincipal) -> dict[str, Any]:
    return {
        "username": principal.username,
        "role": principal.role.value,
        "permissions": sorted(p.value for p in ROLE_PERMISSIONS[principal.role]),
    }


@router.post("/login")
def login(body: LoginRequest, request: Request, response: Response, runtime: Runtime) -> Any:
    """Check the token and open a dashboard session."""
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        runtime.sessions.end(previous)  # a sign-in always gets a fresh session id
    opened = runtime.sessions.open(body.token.strip())
    response.set_cookie(
        SESSION_COOKIE,
        opened.session_id,
        max_age=int(runtime.sessions.absolute_timeout.total_seconds()),
        path="/",
        secure=_secure(runtime),
        httponly=True,
        samesite="strict",
    )
    return {
        "user": _principal_json(opened.session.principal),
        "csrf_token": opened.session.csrf_token,
        "expires_at": opened.session.expires_at.isoformat(),
    }


@router.post("/logout", status_code=204)
def logout(request: Request, _principal: CurrentAdmin, runtime: Runtime) -> Response:
    """End the caller's session (a bearer token has none to end) and clear the cookie."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        runtime.sessions.end(session_id)
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=_secure(runtime), httponly=True, samesite="strict"
    )
    return response


@router.get("/me")
def me(request: Request, principal: CurrentAdmin) -> Any:
    """Who the caller is, what they may do, and (for a session) its CSRF token."""
    session: AdminSession | None = getattr(request.state, "admin_session", None)
    return {
        "user": _principal_json(principal),
        "csrf_token": session.csrf_token if session is not None else None,
        "expires_at": session.expires_at.isoformat() if session is not None else None,
    }
