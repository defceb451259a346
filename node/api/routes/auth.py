"""Sign-in for the web UI: ``/api/auth/login``, ``/logout`` and ``/me``.

Signing in sets the ``harmonia_session`` cookie (HttpOnly, SameSite=Strict,
Secure unless the development profile turned that off) and returns the
session's CSRF token, which the UI sends back in ``X-CSRF-Token``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from node.api.deps import SESSION_COOKIE, CurrentPrincipal, Runtime
from node.audit import AuditAction
from node.auth import ROLE_PERMISSIONS, Principal, User
from node.errors import InvalidUserError
from node.runtime import NodeRuntime

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginRequest(BaseModel):
    """Username and password."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/login")
def login(body: LoginRequest, request: Request, response: Response, runtime: Runtime) -> Any:
    """Check the password and start a session."""
    remote = request.client.host if request.client else ""
    user = runtime.users.authenticate(body.username, body.password, remote=remote)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        runtime.sessions.end(previous)  # a sign-in always gets a fresh session id
    new = runtime.sessions.create(user.id)
    response.set_cookie(
        SESSION_COOKIE,
        new.session_id,
        max_age=int(runtime.sessions.absolute_timeout.total_seconds()),
        path="/",
        secure=runtime.settings.session_cookie_secure,
        httponly=True,
        samesite="strict",
    )
    principal = Principal(user.username, user.id, user.role, ROLE_PERMISSIONS[user.role], "session")
    return {"user": _user_json(user, principal), "csrf_token": new.info.csrf_token}


@router.post("/logout", status_code=204)
def logout(request: Request, principal: CurrentPrincipal, runtime: Runtime) -> Response:
    """End the caller's session (a bearer token has none to end) and clear the cookie."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if principal.via == "session" and session_id:
        runtime.sessions.end(session_id)
        runtime.audit.record(
            actor=principal.username,
            action=AuditAction.LOGGED_OUT,
            target_type="user",
            target_id=principal.username,
        )
    response = Response(status_code=204)
    _forget_cookie(response, runtime)
    return response


def _forget_cookie(response: Response, runtime: NodeRuntime) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=runtime.settings.session_cookie_secure,
        httponly=True,
        samesite="strict",
    )


class PasswordChange(BaseModel):
    """The caller's current password and the new one."""

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


@router.post("/password", status_code=204)
def change_password(
    body: PasswordChange, request: Request, principal: CurrentPrincipal, runtime: Runtime
) -> Response:
    """Change the signed-in user's own password; every session ends, so sign in again."""
    if principal.user_id is None:
        raise InvalidUserError(
            f"{principal.username} is an API token, not a user; it has no password"
        )
    remote = request.client.host if request.client else ""
    runtime.users.change_password(
        principal.username, body.current_password, body.new_password, remote=remote
    )
    response = Response(status_code=204)
    _forget_cookie(response, runtime)
    return response


@router.get("/me")
def me(request: Request, principal: CurrentPrincipal, runtime: Runtime) -> Any:
    """Who the caller is, what they may do, and (for a session) its CSRF token."""
    session = getattr(request.state, "session", None) if principal.via == "session" else None
    csrf = session.csrf_token if session is not None else None
    user = runtime.users.get_by_id(principal.user_id) if principal.user_id is not None else None
    return {"user": _user_json(user, principal), "csrf_token": csrf}


def _user_json(user: User | None, principal: Principal) -> dict[str, Any]:
    body: dict[str, Any] = (
        user.to_json()
        if user is not None
        else {
            "id": None,
            "username": principal.username,
            "display_name": principal.username,
            "role": None,
            "disabled": False,
        }
    )
    body["permissions"] = sorted(p.value for p in principal.permissions)
    return body
