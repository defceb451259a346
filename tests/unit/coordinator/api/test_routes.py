"""The coordinator's HTTP API through TestClient: roles, enrollment statuses, the site API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from coordinator.api import create_app
from coordinator.auth import Role
from coordinator.runtime import CoordinatorRuntime
from coordinator.settings import CoordinatorSettings
from coordinator.store import EnrollmentTokenRow
from shared.crypto import (
    CertificateAuthority,
    build_csr,
    certificate_pem,
    generate_private_key,
)
from shared.schemas import Guideline
from tests.unit.coordinator.conftest import GUIDELINE, auth, enrollment_body, token_for


class WithClientCertificate:
    """What the site listener does: the verified peer certificate in the ASGI TLS extension."""

    def __init__(self, app: Any, chain: list[str]) -> None:
        self.app = app
        self.chain = chain

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "extensions": {"tls": {"client_cert_chain": self.chain}}}
        await self.app(scope, receive, send)


def site_client(
    settings: CoordinatorSettings, runtime: CoordinatorRuntime, certificate_pem_text: str
) -> TestClient:
    app = create_app(settings, runtime=runtime)
    return TestClient(WithClientCertificate(app, [certificate_pem_text]))


def enrolled(client: TestClient, coordinator: CoordinatorRuntime, site: str) -> str:
    token = coordinator.sites.add(site, created_by="test").token
    response = client.post("/api/v1/enroll", json=enrollment_body(token, site))
    assert response.status_code == 200, response.text
    return str(response.json()["certificate_pem"])


# -- admin roles -----------------------------------------------------------------------------


def test_health_needs_no_credentials(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_admin_routes_need_a_token(client: TestClient) -> None:
    for method, path in [("GET", "/api/v1/sites"), ("GET", "/api/v1/guidelines")]:
        response = client.request(method, path)
        assert response.status_code == 401
        assert response.json()["error"] == "AuthError"
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/api/v1/sites", headers=auth("hca_wrong")).status_code == 401


@pytest.mark.parametrize(
    ("role", "list_status", "add_status", "publish_status", "revoke_status"),
    [
        (Role.COORDINATOR_ADMIN, 200, 201, 201, 200),
        (Role.GUIDELINE_EDITOR, 200, 403, 201, 403),
        (Role.VIEWER, 200, 403, 403, 403),
    ],
)
def test_role_matrix(
    client: TestClient,
    coordinator: CoordinatorRuntime,
    role: Role,
    list_status: int,
    add_status: int,
    publish_status: int,
    revoke_status: int,
) -> None:
    headers = auth(token_for(coordinator, role))
    coordinator.sites.add("existing", created_by="test")
    assert client.get("/api/v1/sites", headers=headers).status_code == list_status
    assert client.get("/api/v1/guidelines", headers=headers).status_code == list_status
    added = client.post("/api/v1/sites", json={"name": "hospital-a"}, headers=headers)
    assert added.status_code == add_status
    published = client.post("/api/v1/guidelines", json=GUIDELINE, headers=headers)
    assert published.status_code == publish_status
    revoked = client.post("/api/v1/sites/existing/revoke", headers=headers)
    assert revoked.status_code == revoke_status
    if revoke_status == 403:
        assert revoked.json()["error"] == "PermissionDeniedError"


def test_add_site_returns_the_token_once(
    client: TestClient, coordinator: CoordinatorRuntime
) -> None:
    headers = auth(token_for(coordinator, Role.COORDINATOR_ADMIN))
    body = client.post(
        "/api/v1/sites", json={"name": "hospital-a", "expires_in_hours": 2}, headers=headers
    ).json()
    assert body["token"].startswith("hce.hospital-a.")
    assert body["coordinator_url"] == coordinator.settings.resolved_public_url
    listed = client.get("/api/v1/sites", headers=headers).json()["sites"]
    assert [(s["name"], s["status"]) for s in listed] == [("hospital-a", "pending")]
    assert "token" not in listed[0]
    bad = client.post("/api/v1/sites", json={"name": "Hospital A"}, headers=headers)
    assert bad.status_code == 400
    assert client.post("/api/v1/sites/none/revoke", headers=headers).status_code == 404


def test_publish_json_and_yaml_and_versions(
    client: TestClient, coordinator: CoordinatorRuntime
) -> None:
    headers = auth(token_for(coordinator, Role.GUIDELINE_EDITOR))
    first = client.post("/api/v1/guidelines", json=GUIDELINE, headers=headers)
    assert first.status_code == 201
    assert first.json()["published_by"] == "guideline-editor"
    again = client.post("/api/v1/guidelines", json=GUIDELINE, headers=headers)
    assert again.status_code == 409
    assert again.json()["error"] == "GuidelineVersionError"
    yaml_text = (
        "name: lung\nversion: '2'\ntitle: Lung\nlabels:\n- {name: n, kind: box, definition: d}\n"
    )
    second = client.post(
        "/api/v1/guidelines",
        content=yaml_text,
        headers={**headers, "Content-Type": "application/yaml"},
    )
    assert second.status_code == 201, second.text
    broken = client.post("/api/v1/guidelines", json={"name": "lung"}, headers=headers)
    assert broken.status_code == 422
    envelope = client.get("/api/v1/guidelines/lung/2", headers=headers).json()
    assert envelope["kind"] == "guideline-release"
    assert client.get("/api/v1/guidelines/lung/9", headers=headers).status_code == 404


# -- enrollment ------------------------------------------------------------------------------


def test_enrollment_statuses(client: TestClient, coordinator: CoordinatorRuntime) -> None:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    wrong_site = client.post("/api/v1/enroll", json=enrollment_body(token, "hospital-b"))
    assert (wrong_site.status_code, wrong_site.json()["error"]) == (403, "TokenSiteMismatchError")
    unknown = client.post(
        "/api/v1/enroll", json=enrollment_body("hce.hospital-a." + "x" * 43, "hospital-a")
    )
    assert (unknown.status_code, unknown.json()["error"]) == (401, "TokenUnknownError")
    bad_csr = {**enrollment_body(token, "hospital-a"), "csr_pem": "not a csr"}
    assert client.post("/api/v1/enroll", json=bad_csr).status_code == 400
    missing = client.post("/api/v1/enroll", json={"token": token})
    assert (missing.status_code, missing.json()["error"]) == (400, "InvalidRequest")
    ok = client.post("/api/v1/enroll", json=enrollment_body(token, "hospital-a"))
    assert ok.status_code == 200
    assert set(ok.json()) >= {
        "certificate_pem",
        "ca_bundle_pem",
        "guideline_signing_public_key_pem",
        "fleet_address",
        "coordinator_url",
    }
    replay = client.post("/api/v1/enroll", json=enrollment_body(token, "hospital-a"))
    assert (replay.status_code, replay.json()["error"]) == (409, "TokenUsedError")


def test_expired_token_is_gone(client: TestClient, coordinator: CoordinatorRuntime) -> None:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    with coordinator.engine.begin() as connection:
        connection.execute(
            update(EnrollmentTokenRow).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    expired = client.post("/api/v1/enroll", json=enrollment_body(token, "hospital-a"))
    assert (expired.status_code, expired.json()["error"]) == (410, "TokenExpiredError")


# -- the site API (client certificates) ------------------------------------------------------


def test_site_api_requires_a_client_certificate(
    client: TestClient, coordinator: CoordinatorRuntime
) -> None:
    headers = auth(token_for(coordinator, Role.COORDINATOR_ADMIN))
    response = client.get("/api/v1/site/guidelines", headers=headers)  # an admin token is not it
    assert (response.status_code, response.json()["error"]) == (401, "CertificateRequiredError")


def test_an_enrolled_site_reads_signed_releases(
    client: TestClient, coordinator: CoordinatorRuntime, coordinator_settings: CoordinatorSettings
) -> None:
    certificate = enrolled(client, coordinator, "hospital-a")
    coordinator.guidelines.publish(Guideline.model_validate(GUIDELINE), published_by="e")
    site = site_client(coordinator_settings, coordinator, certificate)
    listing = site.get("/api/v1/site/guidelines").json()
    assert listing["site"] == "hospital-a"
    assert [(r["name"], r["version"]) for r in listing["releases"]] == [("lung", "1")]
    envelope = site.get("/api/v1/site/guidelines/lung/1").json()
    assert envelope["payload"]["name"] == "lung"
    assert site.get("/api/v1/site/guidelines/lung/2").status_code == 404


def test_a_revoked_site_gets_403(
    client: TestClient, coordinator: CoordinatorRuntime, coordinator_settings: CoordinatorSettings
) -> None:
    certificate = enrolled(client, coordinator, "hospital-a")
    coordinator.sites.revoke("hospital-a")
    site = site_client(coordinator_settings, coordinator, certificate)
    response = site.get("/api/v1/site/guidelines")
    assert (response.status_code, response.json()["error"]) == (403, "CertificateRejectedError")
    assert "revoked" in response.json()["detail"]


def test_certificates_of_another_ca_or_unknown_serials_get_403(
    client: TestClient, coordinator: CoordinatorRuntime, coordinator_settings: CoordinatorSettings
) -> None:
    foreign = CertificateAuthority.create("Someone else")
    key = generate_private_key("ec-p256")
    stranger = certificate_pem(foreign.issue(build_csr(key, "hospital-a"), site="hospital-a"))
    response = site_client(coordinator_settings, coordinator, stranger.decode()).get(
        "/api/v1/site/guidelines"
    )
    assert (response.status_code, "consortium CA" in response.json()["detail"]) == (403, True)
    # signed by our CA but never issued through enrollment (e.g. restored from another database)
    unrecorded = certificate_pem(
        coordinator.keys.ca.issue(build_csr(key, "hospital-a"), site="hospital-a")
    )
    response = site_client(coordinator_settings, coordinator, unrecorded.decode()).get(
        "/api/v1/site/guidelines"
    )
    assert response.status_code == 403
    assert "not issued" in response.json()["detail"]
