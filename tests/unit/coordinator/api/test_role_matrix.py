"""Every coordinator route × every kind of caller: no escalation, no 500.

``EXPECTED`` names what each route needs: a :class:`Permission`, ``PUBLIC``,
``SIGNED_IN`` (any valid admin) or ``SITE`` (an enrolled site's client
certificate; every admin caller gets 401 there). The test walks the app's real
routes, so a route added without an entry fails
(``test_every_route_is_in_the_table``): add it with the permission its
dependency checks. Callers: nobody; a viewer, a guideline editor and a
coordinator-admin each by bearer token and by dashboard session (with its CSRF
token); a revoked token and a disabled admin's token (401 everywhere).

A second test proves every state-changing admin route refuses a dashboard
session without its CSRF token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from coordinator.api import create_app
from coordinator.api.deps import SESSION_COOKIE
from coordinator.auth import ROLE_PERMISSIONS, Permission, Role
from coordinator.runtime import CoordinatorRuntime
from coordinator.settings import CoordinatorSettings
from coordinator.store import AdminUserRow
from tests.unit.node.api.test_role_matrix import app_routes

PUBLIC = "public"
SIGNED_IN = "signed_in"
SITE = "site"

P = Permission
EXPECTED: dict[tuple[str, str], Permission | str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # its own rule: loopback callers or the metrics token
    ("GET", "/"): PUBLIC,
    ("POST", "/api/v1/enroll"): PUBLIC,
    # dashboard sign-in
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): SIGNED_IN,
    ("GET", "/api/v1/auth/me"): SIGNED_IN,
    # sites
    ("GET", "/api/v1/sites"): P.VIEW,
    ("POST", "/api/v1/sites"): P.MANAGE_SITES,
    ("GET", "/api/v1/sites/{name}"): P.VIEW,
    ("POST", "/api/v1/sites/{name}/revoke"): P.MANAGE_SITES,
    ("GET", "/api/v1/dashboard/sites"): P.VIEW,
    # guidelines
    ("POST", "/api/v1/guidelines"): P.PUBLISH_GUIDELINES,
    ("POST", "/api/v1/guidelines/validate"): P.PUBLISH_GUIDELINES,
    ("GET", "/api/v1/guidelines"): P.VIEW,
    ("GET", "/api/v1/guidelines/{name}/{version}"): P.VIEW,
    ("GET", "/api/v1/guidelines/{name}/diff"): P.VIEW,
    # harmonization and rounds
    ("POST", "/api/v1/calibration"): P.PUBLISH_GUIDELINES,
    ("GET", "/api/v1/calibration"): P.VIEW,
    ("GET", "/api/v1/calibration/{set_id}"): P.VIEW,
    ("GET", "/api/v1/harmonization/{guideline}"): P.VIEW,
    ("GET", "/api/v1/rounds"): P.VIEW,
    ("GET", "/api/v1/rounds/{round_id}"): P.VIEW,
    # model registry
    ("GET", "/api/v1/models"): P.VIEW,
    ("GET", "/api/v1/models/{name}"): P.VIEW,
    ("GET", "/api/v1/models/{name}/{version}"): P.VIEW,
    ("GET", "/api/v1/models/{name}/{version}/card"): P.VIEW,
    ("GET", "/api/v1/training/runs"): P.VIEW,
    ("POST", "/api/v1/training/runs"): P.RUN_TRAINING,
    ("GET", "/api/v1/training/runs/{run_id}"): P.VIEW,
    # the site API (mutual TLS)
    ("GET", "/api/v1/site/guidelines"): SITE,
    ("GET", "/api/v1/site/guidelines/{name}/{version}"): SITE,
    ("GET", "/api/v1/site/calibration"): SITE,
    ("GET", "/api/v1/site/calibration/{set_id}"): SITE,
    ("POST", "/api/v1/site/calibration/{set_id}/annotations"): SITE,
    ("POST", "/api/v1/site/health"): SITE,
    ("GET", "/api/v1/site/models"): SITE,
    ("GET", "/api/v1/site/models/{name}/{version}"): SITE,
}

_SAFE = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Caller:
    name: str
    permissions: frozenset[Permission] | None  # None: no valid credentials
    token: str | None = None
    session: bool = False


@pytest.fixture
def app(coordinator_settings: CoordinatorSettings, coordinator: CoordinatorRuntime) -> FastAPI:
    return create_app(coordinator_settings, runtime=coordinator)


def _callers(coordinator: CoordinatorRuntime) -> list[Caller]:
    callers = [Caller("nobody", None)]
    for role in Role:
        token = coordinator.tokens.issue(f"matrix-{role.value}", role=role).token
        callers.append(Caller(f"{role.value} token", ROLE_PERMISSIONS[role], token))
        callers.append(Caller(f"{role.value} session", ROLE_PERMISSIONS[role], token, True))
    revoked = coordinator.tokens.issue("matrix-revoked", role=Role.COORDINATOR_ADMIN)
    coordinator.tokens.revoke(revoked.token_id)
    gone = coordinator.tokens.issue("matrix-gone", role=Role.COORDINATOR_ADMIN)
    with Session(coordinator.engine) as session, session.begin():
        session.execute(
            update(AdminUserRow).where(AdminUserRow.username == "matrix-gone").values(disabled=True)
        )
    callers += [Caller("revoked token", None, revoked.token), Caller("disabled", None, gone.token)]
    return callers


def _client(
    coordinator: CoordinatorRuntime, app: FastAPI, caller: Caller
) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(app, raise_server_exceptions=False)
    if caller.token is None:
        return client, {}
    if not caller.session:
        return client, {"Authorization": f"Bearer {caller.token}"}
    opened = coordinator.sessions.open(caller.token)
    client.cookies.set(SESSION_COOKIE, opened.session_id)
    return client, {"X-CSRF-Token": opened.session.csrf_token}


def _send(client: TestClient, method: str, path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    url = re.sub(r"\{(\w+)\}", "no-such-thing", path)
    if method in _SAFE:
        return client.request(method, url, headers=headers)
    return client.request(method, url, headers=headers, json={})


def _error(response) -> str:  # type: ignore[no-untyped-def]
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def test_every_route_is_in_the_table(app: FastAPI) -> None:
    served = set(app_routes(app))
    missing = sorted(served - EXPECTED.keys())
    assert not missing, f"routes without an expected permission; add them to EXPECTED: {missing}"
    stale = sorted(EXPECTED.keys() - served)
    assert not stale, f"EXPECTED names routes the app no longer serves: {stale}"


def test_role_matrix(coordinator: CoordinatorRuntime, app: FastAPI) -> None:
    problems: list[str] = []
    callers = _callers(coordinator)
    for method, path in sorted(app_routes(app)):
        needed = EXPECTED.get((method, path))
        if needed is None or needed == PUBLIC:
            continue
        for caller in callers:
            client, headers = _client(coordinator, app, caller)
            response = _send(client, method, path, headers)
            status, error = response.status_code, _error(response)
            where = f"{method} {path} as {caller.name}: {status} {error}"
            if status >= 500:
                problems.append(f"{where} (server error)")
            elif needed == SITE:
                if status != 401 or error != "CertificateRequiredError":
                    problems.append(f"{where} (the site API needs a client certificate)")
            elif caller.permissions is None:
                if status != 401:
                    problems.append(f"{where} (expected 401)")
            elif needed == SIGNED_IN or needed in caller.permissions:
                if status in (401, 403):
                    problems.append(f"{where} (refused a caller who holds {needed})")
            elif status != 403 or error != "PermissionDeniedError":
                problems.append(f"{where} (expected 403 for lacking {needed})")
    assert not problems, "\n".join(problems)


def test_sessions_need_the_csrf_token_to_change_state(
    coordinator: CoordinatorRuntime, app: FastAPI
) -> None:
    token = coordinator.tokens.issue("matrix-csrf", role=Role.COORDINATOR_ADMIN).token
    problems = []
    for method, path in sorted(app_routes(app)):
        if method in _SAFE or EXPECTED.get((method, path)) in (PUBLIC, SITE):
            continue
        client = TestClient(app, raise_server_exceptions=False)
        client.cookies.set(SESSION_COOKIE, coordinator.sessions.open(token).session_id)
        response = _send(client, method, path, {})
        if response.status_code != 403 or _error(response) != "CsrfError":
            problems.append(f"{method} {path}: {response.status_code} {_error(response)}")
    assert not problems, "state-changing session requests without X-CSRF-Token:\n" + "\n".join(
        problems
    )


def test_table_uses_only_known_permissions() -> None:
    named = {v for v in EXPECTED.values() if v not in (PUBLIC, SIGNED_IN, SITE)}
    assert named <= set(Permission)
