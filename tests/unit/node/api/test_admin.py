"""Admin API: health, tokens, quarantine release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from node.api import create_app
from node.auth import Scope
from node.runtime import NodeRuntime
from tests.dicom_samples import pydicom_file


@pytest.fixture
def client(runtime: NodeRuntime) -> TestClient:
    return TestClient(create_app(runtime.settings, runtime=runtime))


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_needs_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_issue_use_and_revoke_a_token(client: TestClient, admin_token: str) -> None:
    issued = client.post(
        "/api/v1/tokens", json={"name": "pacs", "scopes": ["ingest"]}, headers=_auth(admin_token)
    )
    assert issued.status_code == 201
    token, token_id = issued.json()["token"], issued.json()["token_id"]
    listed = client.get("/api/v1/tokens", headers=_auth(admin_token)).json()
    assert any(t["token_id"] == token_id and "token" not in t for t in listed)
    assert client.get("/api/v1/tokens", headers=_auth(token)).status_code == 403
    assert (
        client.delete(f"/api/v1/tokens/{token_id}", headers=_auth(admin_token)).status_code == 204
    )
    revoked = client.get("/api/v1/tokens", headers=_auth(token))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]


def test_expired_token_is_refused_with_reason(client: TestClient, runtime: NodeRuntime) -> None:
    expired = runtime.tokens.issue(
        "old", [Scope.ADMIN], expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    response = client.get("/api/v1/tokens", headers=_auth(expired.token))
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_invalid_token_request_is_400_not_500(client: TestClient, admin_token: str) -> None:
    response = client.post(
        "/api/v1/tokens", json={"name": "", "scopes": ["root"]}, headers=_auth(admin_token)
    )
    assert response.status_code == 400


def test_quarantine_release(
    client: TestClient, runtime: NodeRuntime, admin_token: str, read_token: str
) -> None:
    outcome = runtime.ingest.ingest_bytes(pydicom_file("SC_rgb_rle.dcm").read_bytes(), source="t")
    assert outcome.quarantined
    held = client.get("/api/v1/quarantine", headers=_auth(admin_token)).json()
    assert [h["sop_instance_uid"] for h in held] == [outcome.stored_sop_instance_uid]
    assert "burned-in" in held[0]["reason"] or "BurnedInAnnotation" in held[0]["reason"]
    assert client.get("/api/v1/quarantine", headers=_auth(read_token)).status_code == 403
    released = client.post(
        f"/api/v1/quarantine/{outcome.stored_sop_instance_uid}/release", headers=_auth(admin_token)
    )
    assert released.status_code == 200 and released.json()["released_by"] == "token:test-admin"
    assert client.get("/api/v1/quarantine", headers=_auth(admin_token)).json() == []
    missing = client.post("/api/v1/quarantine/2.25.1/release", headers=_auth(admin_token))
    assert missing.status_code == 404
