"""Typed FastAPI dependencies: the node's runtime and the caller's principal.

Every route but ``/healthz`` and ``/readyz`` names the one permission it
needs, e.g. ``principal: Annotator`` or
``Annotated[Principal, Depends(requires(Permission.EXPORT))]``. A caller is
identified by a bearer token (``Authorization: Bearer ...``) or by the
browser's session cookie ``harmonia_session``; cookie requests with an unsafe
method must also send the session's CSRF token in ``X-CSRF-Token``. No or bad
credentials answer 401; a valid caller without the permission, or a missing
CSRF token, answers 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from node.auth import Permission, Principal
from node.errors import AuthError, CsrfError, InsufficientScopeError
from node.runtime import NodeRuntime

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Adjudicator",
    "Administrator",
    "Annotator",
    "CurrentPrincipal",
    "Exporter",
    "ImageViewer",
    "Ingestor",
    "ProjectManager",
    "QualityViewer",
    "Reviewer",
    "Runtime",
    "UserManager",
    "current_principal",
    "get_runtime",
    "requires",
]

SESSION_COOKIE = "harmonia_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False)
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False)


def get_runtime(request: Request) -> NodeRuntime:
    """The runtime the app was created with."""
    runtime: NodeRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[NodeRuntime, Depends(get_runtime)]


def current_principal(
    request: Request,
    runtime: Runtime,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session_id: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """Who the request acts as: the bearer token's principal, else the session's user.

    For a session, ``request.state.session`` holds its :class:`SessionInfo`.
    """
    if credentials is not None:
        return runtime.principals.from_token(credentials.credentials)
    if session_id:
        resolved = runtime.principals.from_session(session_id)
        if request.method not in _SAFE_METHODS and not resolved.session.csrf_matches(
            request.headers.get(CSRF_HEADER)
        ):
            raise CsrfError(
                f"missing or wrong {CSRF_HEADER} header: send the csrf_token that "
                "/api/auth/login or /api/auth/me returned"
            )
        request.state.session = resolved.session
        return resolved.principal
    raise AuthError(
        "not signed in: send 'Authorization: Bearer <API token>', or sign in at /api/auth/login"
    )


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _requiring(permission: Permission) -> Callable[[Principal], Principal]:
    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.can(permission):
            raise InsufficientScopeError(
                f"{principal.username} may not do this: it needs the {permission.value!r} "
                "permission; ask an admin for a role or token that grants it",
                required_scope=permission.value,
            )
        return principal

    check.__name__ = f"requires_{permission.value}"
    return check


_REQUIRES: dict[Permission, Callable[[Principal], Principal]] = {
    p: _requiring(p) for p in Permission
}


def requires(permission: Permission) -> Callable[[Principal], Principal]:
    """The dependency that returns the caller's principal if it holds ``permission``.

    The same callable is returned for the same permission, so tests can
    override it with ``app.dependency_overrides[requires(p)]``.
    """
    return _REQUIRES[Permission(permission)]


ImageViewer = Annotated[Principal, Depends(requires(Permission.VIEW_IMAGES))]
Ingestor = Annotated[Principal, Depends(requires(Permission.INGEST))]
Annotator = Annotated[Principal, Depends(requires(Permission.ANNOTATE))]
Reviewer = Annotated[Principal, Depends(requires(Permission.REVIEW))]
Adjudicator = Annotated[Principal, Depends(requires(Permission.ADJUDICATE))]
QualityViewer = Annotated[Principal, Depends(requires(Permission.VIEW_QUALITY))]
Exporter = Annotated[Principal, Depends(requires(Permission.EXPORT))]
ProjectManager = Annotated[Principal, Depends(requires(Permission.MANAGE_PROJECTS))]
UserManager = Annotated[Principal, Depends(requires(Permission.MANAGE_USERS))]
Administrator = Annotated[Principal, Depends(requires(Permission.ADMINISTER))]
