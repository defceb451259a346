"""Every route × every kind of caller: no escalation, no 500.

``EXPECTED`` names the permission each route needs (a frozenset: any one of
them). The test walks the app's real routes, so a route added without an
entry here fails (``test_every_route_is_in_the_table``): add it with the
permission its dependency checks. For each route and each caller
(unauthenticated; an annotator, a reviewer and an admin signed in with a
session cookie; a bare ``read`` token, a bare ``ingest`` token, a token issued
for the annotator; and a disabled admin's token and a revoked admin token,
which must get 401 everywhere) it sends a request with dummy path parameters
and a minimal JSON body, and checks:

* the node never answers 500;
* a caller without the permission gets 401 (no credentials) or 403 (the
  permission check, ``InsufficientScopeError``);
* a caller with it never gets 401, nor a 403 from the permission layer.

A second test proves that every state-changing route refuses a session cookie
without its CSRF token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from node.api import create_app
from node.auth import ROLE_PERMISSIONS, SCOPE_PERMISSIONS, PasswordHasher, Permission, Role, Scope
from node.runtime import NodeRuntime

PUBLIC = "public"  # no credentials needed
SIGNED_IN = "signed_in"  # any valid principal

P = Permission
EXPECTED: dict[tuple[str, str], Permission | frozenset[Permission] | str] = {
    # health and the UI shell
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # loopback or the metrics token, not a principal
    ("GET", "/"): PUBLIC,
    # sign-in
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/logout"): SIGNED_IN,
    ("GET", "/api/auth/me"): SIGNED_IN,
    ("POST", "/api/auth/password"): SIGNED_IN,
    # users and tokens
    ("GET", "/api/users"): P.MANAGE_USERS,
    ("POST", "/api/users"): P.MANAGE_USERS,
    ("PATCH", "/api/users/{username}"): P.MANAGE_USERS,
    ("GET", "/api/audit"): P.ADMINISTER,
    ("GET", "/api/audit/verify"): P.ADMINISTER,
    ("GET", "/api/egress"): P.ADMINISTER,
    ("GET", "/api/egress/budgets"): P.ADMINISTER,
    ("GET", "/api/egress/verify"): P.ADMINISTER,
    ("GET", "/api/egress/export"): P.ADMINISTER,
    ("GET", "/api/alerts"): P.ADMINISTER,
    ("POST", "/api/alerts/{alert_id}/dismiss"): P.ADMINISTER,
    ("POST", "/api/v1/tokens"): P.ADMINISTER,
    ("GET", "/api/v1/tokens"): P.ADMINISTER,
    ("DELETE", "/api/v1/tokens/{token_id}"): P.ADMINISTER,
    ("GET", "/api/v1/quarantine"): P.ADMINISTER,
    ("POST", "/api/v1/quarantine/{sop_instance_uid}/release"): P.ADMINISTER,
    # DICOMweb
    # STOW-RS: ingest stores anything; annotate sends back DICOM SEG of one's own tasks
    ("POST", "/dicom-web/studies"): frozenset({P.INGEST, P.ANNOTATE}),
    ("POST", "/dicom-web/studies/{study}"): frozenset({P.INGEST, P.ANNOTATE}),
    ("GET", "/dicom-web/studies"): P.VIEW_IMAGES,
    ("GET", "/dicom-web/series"): P.VIEW_IMAGES,
    ("GET", "/dicom-web/instances"): P.VIEW_IMAGES,
    ("GET", "/dicom-web/studies/{study}/series"): P.VIEW_IMAGES,
    ("GET", "/dicom-web/studies/{study}/instances"): P.VIEW_IMAGES,
    ("GET", "/dicom-web/studies/{study}/series/{series}/instances"): P.VIEW_IMAGES,
    ("GET", "/dicom-web/studies/{study}"): P.VIEW_IMAGES,
    ("GET", "/dicom-web/studies/{study}/series/{series}"): P.VIEW_IMAGES,
    ("GET", "/dicom-web/studies/{study}/series/{series}/instances/{instance}"): P.VIEW_IMAGES,
    ("GET", "/dicom-web/studies/{study}/metadata"): P.VIEW_IMAGES,
    ("GET", "/dicom-web/studies/{study}/series/{series}/metadata"): P.VIEW_IMAGES,
    (
        "GET",
        "/dicom-web/studies/{study}/series/{series}/instances/{instance}/metadata",
    ): P.VIEW_IMAGES,
    (
        "GET",
        "/dicom-web/studies/{study}/series/{series}/instances/{instance}/frames/{frames}",
    ): P.VIEW_IMAGES,
    (
        "GET",
        "/dicom-web/studies/{study}/series/{series}/instances/{instance}/bulkdata/{tag}",
    ): P.VIEW_IMAGES,
    (
        "GET",
        "/dicom-web/studies/{study}/series/{series}/instances/{instance}/rendered",
    ): P.VIEW_IMAGES,
    (
        "GET",
        "/dicom-web/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/rendered",
    ): P.VIEW_IMAGES,
    ("GET", "/api/v1/series/{series}/volume"): P.VIEW_IMAGES,
    ("GET", "/api/v1/series/{series}/mpr/{plane}/{index}"): P.VIEW_IMAGES,
    # export
    ("POST", "/api/projects/{name}/export"): P.EXPORT,
    ("POST", "/api/projects/{name}/upgrade"): P.MANAGE_PROJECTS,
    # guidelines and projects
    ("POST", "/api/guidelines"): P.MANAGE_PROJECTS,
    ("GET", "/api/guidelines"): P.ANNOTATE,
    ("GET", "/api/guidelines/{name}/{version}"): P.ANNOTATE,
    ("POST", "/api/projects"): P.MANAGE_PROJECTS,
    ("GET", "/api/projects"): P.ANNOTATE,
    ("GET", "/api/projects/{name}"): P.ANNOTATE,
    # worklist, tasks, annotations
    ("GET", "/api/worklist"): P.ANNOTATE,
    ("GET", "/api/tasks/{task_id}"): P.ANNOTATE,
    ("PATCH", "/api/tasks/{task_id}"): P.MANAGE_PROJECTS,
    ("POST", "/api/tasks/{task_id}/annotations"): P.ANNOTATE,
    ("PUT", "/api/annotations/{annotation_id}"): P.ANNOTATE,
    ("DELETE", "/api/annotations/{annotation_id}"): P.ANNOTATE,
    ("GET", "/api/annotations/{annotation_id}/revisions"): P.ANNOTATE,
    ("GET", "/api/annotations/{annotation_id}/revisions/{number}"): P.ANNOTATE,
    ("GET", "/api/annotations/{annotation_id}/diff"): P.ANNOTATE,
    ("POST", "/api/tasks/{task_id}/complete"): P.ANNOTATE,
    ("GET", "/api/tasks/{task_id}/consensus"): P.ANNOTATE,
    ("GET", "/api/tasks/{task_id}/agreement"): P.ANNOTATE,
    # review and adjudication
    ("GET", "/api/review/queue"): P.REVIEW,
    ("GET", "/api/review/rereview"): P.REVIEW,
    ("POST", "/api/tasks/{task_id}/review"): P.REVIEW,
    ("GET", "/api/adjudication/queue"): P.ADJUDICATE,
    ("GET", "/api/tasks/{task_id}/adjudication"): P.ADJUDICATE,
    ("POST", "/api/tasks/{task_id}/adjudication"): P.ADJUDICATE,
    # quality dashboard
    ("GET", "/api/quality/{project}"): P.VIEW_QUALITY,
    ("GET", "/api/quality/{project}/labels"): P.VIEW_QUALITY,
    ("GET", "/api/quality/{project}/readers"): P.VIEW_QUALITY,
    ("GET", "/api/quality/{project}/pairs"): P.VIEW_QUALITY,
    ("GET", "/api/quality/{project}/drift"): P.VIEW_QUALITY,
    ("GET", "/api/quality/{project}/checks"): P.VIEW_QUALITY,
    # AI assistance: drafts, settings, runs, ranking, tracking
    ("GET", "/api/projects/{project}/assist"): P.MANAGE_PROJECTS,
    ("PUT", "/api/projects/{project}/assist"): P.MANAGE_PROJECTS,
    ("GET", "/api/projects/{project}/assist/runs"): P.MANAGE_PROJECTS,
    ("GET", "/api/projects/{project}/assist/ranking"): P.MANAGE_PROJECTS,
    ("GET", "/api/projects/{project}/assist/tracking"): P.VIEW_QUALITY,
    ("GET", "/api/tasks/{task_id}/proposals"): P.ANNOTATE,
    ("POST", "/api/proposals/{proposal_id}/accept"): P.ANNOTATE,
    ("POST", "/api/proposals/{proposal_id}/edit"): P.ANNOTATE,
    ("POST", "/api/proposals/{proposal_id}/reject"): P.ANNOTATE,
}

# Plausible dummy values for path parameters (anything else gets "1").
_PARAMS = {
    "study": "1.2.3",
    "series": "1.2.3.4",
    "instance": "1.2.3.4.5",
    "sop_instance_uid": "1.2.3.4.5",
    "frames": "1",
    "tag": "7FE00010",
    "plane": "axial",
    "index": "0",
    "username": "nobody",
    "token_id": "0000000000000000",
    "name": "no-such-thing",
    "project": "no-such-project",
    "version": "1",
}
_SAFE = {"GET", "HEAD", "OPTIONS"}
_PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Caller:
    """One kind of caller and what it may do."""

    name: str
    permissions: frozenset[Permission] | None  # None: no valid credentials
    token: str | None = None
    role: Role | None = None


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every (method, path) the app serves, flattening included routers; static mounts skipped."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.16x keeps routers nested
    except ImportError:  # pragma: no cover - older FastAPI lists flat routes
        contexts = list(app.routes)
    else:
        contexts = list(iter_route_contexts(app.routes))  # type: ignore[arg-type]
    for route in contexts:
        methods = getattr(route, "methods", None)
        path = getattr(route, "path", None)
        if not methods or not path:
            continue  # a Mount (the /ui static files)
        if path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"):
            continue
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            yield method, path


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: _PARAMS.get(m.group(1), "1"), path)


@pytest.fixture
def node(runtime: NodeRuntime) -> NodeRuntime:
    runtime.users.hasher = PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1)
    for role in Role:
        runtime.users.create(f"matrix-{role.value}", _PASSWORD, role)
    return runtime


@pytest.fixture
def app(node: NodeRuntime) -> FastAPI:
    return create_app(node.settings, runtime=node)


def _callers(node: NodeRuntime) -> list[Caller]:
    read = node.tokens.issue("matrix-read", [Scope.READ]).token
    ingest = node.tokens.issue("matrix-ingest", [Scope.INGEST]).token
    annotator_id = node.users.get(f"matrix-{Role.ANNOTATOR.value}").id
    for_annotator = node.tokens.issue("matrix-ann-token", [], user_id=annotator_id).token
    # Credentials that once worked and must now get 401 everywhere.
    gone = node.users.create("matrix-gone", _PASSWORD, Role.ADMIN)
    for_gone = node.tokens.issue("matrix-gone-token", [], user_id=gone.id).token
    node.users.disable("matrix-gone", actor="test")
    revoked = node.tokens.issue("matrix-revoked", [Scope.ADMIN])
    node.tokens.revoke(revoked.info.token_id)
    return [
        Caller("unauthenticated", None),
        Caller("annotator", ROLE_PERMISSIONS[Role.ANNOTATOR], role=Role.ANNOTATOR),
        Caller("reviewer", ROLE_PERMISSIONS[Role.REVIEWER], role=Role.REVIEWER),
        Caller("admin", ROLE_PERMISSIONS[Role.ADMIN], role=Role.ADMIN),
        Caller("read token", SCOPE_PERMISSIONS[Scope.READ], token=read),
        Caller("ingest token", SCOPE_PERMISSIONS[Scope.INGEST], token=ingest),
        Caller("annotator's token", ROLE_PERMISSIONS[Role.ANNOTATOR], token=for_annotator),
        Caller("disabled admin's token", None, token=for_gone),
        Caller("revoked admin token", None, token=revoked.token),
    ]


def _client_for(
    node: NodeRuntime, app: FastAPI, caller: Caller
) -> tuple[TestClient, dict[str, str]]:
    """A client acting as ``caller``, with a fresh session for each request of a user."""
    client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    headers: dict[str, str] = {}
    if caller.token is not None:
        headers["Authorization"] = f"Bearer {caller.token}"
    elif caller.role is not None:
        user = node.users.get(f"matrix-{caller.role.value}")
        new = node.sessions.create(user.id)
        client.cookies.set("harmonia_session", new.session_id)
        headers["X-CSRF-Token"] = new.info.csrf_token
    return client, headers


def _send(client: TestClient, method: str, path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    url = _fill(path)
    if method in _SAFE or method == "DELETE":
        return client.request(method, url, headers=headers)
    return client.request(method, url, headers=headers, json={})


def test_every_route_is_in_the_table(app: FastAPI) -> None:
    served = set(app_routes(app))
    missing = sorted(served - EXPECTED.keys())
    assert not missing, f"routes without an expected permission; add them to EXPECTED: {missing}"
    stale = sorted(EXPECTED.keys() - served)
    assert not stale, f"EXPECTED names routes the app no longer serves: {stale}"


def test_role_matrix(node: NodeRuntime, app: FastAPI) -> None:
    problems: list[str] = []
    callers = _callers(node)
    for method, path in sorted(app_routes(app)):
        needed = EXPECTED.get((method, path))
        if needed is None:
            continue  # reported by test_every_route_is_in_the_table
        for caller in callers:
            client, headers = _client_for(node, app, caller)
            response = _send(client, method, path, headers)
            status = response.status_code
            error = _error_name(response)
            where = f"{method} {path} as {caller.name}: {status} {error}"
            if status >= 500:
                problems.append(f"{where} (server error)")
                continue
            if needed == PUBLIC:
                continue
            any_of = needed if isinstance(needed, frozenset) else frozenset({needed})
            allowed = caller.permissions is not None and (
                needed == SIGNED_IN or bool(any_of & caller.permissions)
            )
            if allowed:
                if status == 401 or (status == 403 and error != "NotAssignedError"):
                    problems.append(f"{where} (refused a caller who holds {needed})")
            elif caller.permissions is None:
                if status != 401:
                    problems.append(f"{where} (expected 401 without credentials)")
            elif status != 403 or error != "InsufficientScopeError":
                problems.append(f"{where} (expected 403 for lacking {needed})")
    assert not problems, "\n".join(problems)


def test_cookie_requests_that_change_state_need_the_csrf_token(
    node: NodeRuntime, app: FastAPI
) -> None:
    admin = node.users.get(f"matrix-{Role.ADMIN.value}")
    problems = []
    for method, path in sorted(app_routes(app)):
        if method in _SAFE or EXPECTED.get((method, path)) == PUBLIC:
            continue
        client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
        client.cookies.set("harmonia_session", node.sessions.create(admin.id).session_id)
        response = _send(client, method, path, {})
        if response.status_code != 403 or _error_name(response) != "CsrfError":
            problems.append(f"{method} {path}: {response.status_code} {_error_name(response)}")
    assert not problems, "state-changing cookie requests without X-CSRF-Token:\n" + "\n".join(
        problems
    )


def test_table_uses_only_known_permissions() -> None:
    named = {v for v in EXPECTED.values() if v not in (PUBLIC, SIGNED_IN)}
    flat = {p for v in named for p in (v if isinstance(v, frozenset) else {v})}
    assert flat <= set(Permission)


def _error_name(response) -> str:  # type: ignore[no-untyped-def]
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""
