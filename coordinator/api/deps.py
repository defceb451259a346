"""Typed FastAPI dependencies: the runtime, the admin principal, the calling site.

Admin routes name the permission they need (``principal: Viewer``); a caller
sends ``Authorization: Bearer <admin token>``, or is a dashboard session (the
``harmonia_coordinator_session`` cookie, whose requests that change state must
also send the session's CSRF token in ``X-CSRF-Token``): none or a bad one
answers 401, a role without the permission or a missing CSRF token 403.
Site routes take ``site: EnrolledSite``: the
client certificate the TLS layer verified must chain to the consortium CA, be
one the coordinator issued, and be neither revoked nor of a revoked site (401
when none was presented, 403 otherwise); each such call marks the site seen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from coordinator.api.tls import client_certificate_chain
from coordinator.auth import AdminPrincipal, Permission
from coordinator.errors import (
    AuthError,
    CertificateRejectedError,
    CertificateRequiredError,
    CsrfError,
)
from coordinator.runtime import CoordinatorRuntime
from coordinator.training.service import TrainingService
from shared.crypto import CertificateError, load_certificates, verify_certificate

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "CurrentAdmin",
    "EnrolledSite",
    "GuidelineEditor",
    "Runtime",
    "SiteManager",
    "Trainer",
    "Training",
    "Viewer",
    "current_admin",
    "enrolled_site",
    "get_runtime",
    "get_training",
    "requires",
]

SESSION_COOKIE = "harmonia_coordinator_session"
"""The dashboard's session cookie (named apart from the node's: cookies ignore ports)."""
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False)
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False)


def get_runtime(request: Request) -> CoordinatorRuntime:
    """The runtime the app serves."""
    runtime: CoordinatorRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[CoordinatorRuntime, Depends(get_runtime)]


def get_training(request: Request) -> TrainingService:
    """The app's training runs (:class:`~coordinator.training.TrainingService`)."""
    training: TrainingService = request.app.state.training
    return training


Training = Annotated[TrainingService, Depends(get_training)]


def current_admin(
    request: Request,
    runtime: Runtime,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session_id: Annotated[str | None, Depends(_cookie)],
) -> AdminPrincipal:
    """The admin a bearer token, else a dashboard session, acts as.

    For a session, ``request.state.admin_session`` holds its
    :class:`~coordinator.auth.AdminSession`.
    """
    if credentials is not None:
        return runtime.tokens.resolve(credentials.credentials)
    if session_id:
        session = runtime.sessions.resolve(session_id)
        if request.method not in _SAFE_METHODS and not session.csrf_matches(
            request.headers.get(CSRF_HEADER)
        ):
            raise CsrfError(
                f"missing or wrong {CSRF_HEADER} header: send the csrf_token that "
                "/api/v1/auth/login or /api/v1/auth/me returned"
            )
        request.state.admin_session = session
        return session.principal
    raise AuthError(
        "send 'Authorization: Bearer <admin token>' (see 'token create'), or sign in to the "
        "dashboard at /ui/"
    )


CurrentAdmin = Annotated[AdminPrincipal, Depends(current_admin)]


def _requiring(permission: Permission) -> Callable[[AdminPrincipal], AdminPrincipal]:
    def check(principal: CurrentAdmin) -> AdminPrincipal:
        return principal.require(permission)

    check.__name__ = f"requires_{permission.value}"
    return check


_REQUIRES = {p: _requiring(p) for p in Permission}


def requires(permission: Permission) -> Callable[[AdminPrincipal], AdminPrincipal]:
    """The dependency returning the admin if their role grants ``permission``."""
    return _REQUIRES[Permission(permission)]


Viewer = Annotated[AdminPrincipal, Depends(requires(Permission.VIEW))]
GuidelineEditor = Annotated[AdminPrincipal, Depends(requires(Permission.PUBLISH_GUIDELINES))]
SiteManager = Annotated[AdminPrincipal, Depends(requires(Permission.MANAGE_SITES))]
Trainer = Annotated[AdminPrincipal, Depends(requires(Permission.RUN_TRAINING))]


def enrolled_site(request: Request, runtime: Runtime) -> str:
    """The name of the enrolled, unrevoked site whose certificate the caller presented."""
    chain = client_certificate_chain(request.scope)
    if not chain:
        raise CertificateRequiredError(
            "the site API needs the node's client certificate: call the site API URL (https) "
            "with the certificate the node received at enrollment"
        )
    try:
        certificates = load_certificates("".join(chain))
        leaf = verify_certificate(
            certificates,
            runtime.keys.ca.certificate,
            revoked=runtime.sites.revoked_serials(),
            usage="client",
        )
    except CertificateError as exc:
        raise CertificateRejectedError(str(exc)) from None
    issued = runtime.sites.certificate_site(leaf.serial_number)
    if issued is None:
        raise CertificateRejectedError(
            f"certificate serial {leaf.serial_number:x} was not issued by this coordinator's "
            "enrollment; enroll the node again"
        )
    site, revoked = issued
    if revoked:
        raise CertificateRejectedError(
            f"site {site!r} was revoked by the consortium; it can no longer call the site API"
        )
    runtime.site_activity.seen(site)
    return site


EnrolledSite = Annotated[str, Depends(enrolled_site)]
