"""/metrics and /readyz of the coordinator app (TestClient, real store)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from coordinator.api import create_app
from coordinator.auth import Role
from coordinator.runtime import CoordinatorRuntime, open_coordinator
from coordinator.settings import CoordinatorSettings
from tests.unit.coordinator.conftest import auth, enrollment_body, token_for

LOOPBACK = ("127.0.0.1", 40000)
TOKEN = "coordinator-metrics-token-0123456789"


def _value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_metrics_need_loopback_or_the_token(tmp_path: Path) -> None:
    settings = CoordinatorSettings(data_dir=tmp_path / "c", fsync=False)
    with open_coordinator(settings) as runtime:
        app = create_app(settings, runtime=runtime)
        remote = TestClient(app, client=("10.9.9.9", 1)).get("/metrics")
        assert remote.status_code == 403
        assert "HARMONIA_COORDINATOR_METRICS_TOKEN" in remote.json()["detail"]
        assert TestClient(app, client=LOOPBACK).get("/metrics").status_code == 200
    tokened = CoordinatorSettings(data_dir=tmp_path / "c", fsync=False, metrics_token=TOKEN)
    with open_coordinator(tokened) as runtime:
        client = TestClient(create_app(tokened, runtime=runtime), client=("10.9.9.9", 1))
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=auth(TOKEN)).status_code == 200


def test_sites_certificates_and_rounds_are_counted(
    coordinator_settings: CoordinatorSettings, coordinator: CoordinatorRuntime
) -> None:
    admin = token_for(coordinator, Role.COORDINATOR_ADMIN)
    client = TestClient(create_app(coordinator_settings, runtime=coordinator), client=LOOPBACK)
    issued = coordinator.sites.add("hospital-a", created_by="test")
    coordinator.sites.add("hospital-b", created_by="test")
    enrolled = client.post("/api/v1/enroll", json=enrollment_body(issued.token, "hospital-a"))
    assert enrolled.is_success, enrolled.text
    assert client.get("/api/v1/sites", headers=auth(admin)).status_code == 200
    rounds = coordinator_settings.data_dir / "rounds"
    rounds.mkdir()
    (rounds / "r1.json").write_text(json.dumps({"round_id": "r1", "total_wall_time_s": 12.5}))
    (rounds / "r2.json").write_text(json.dumps({"round_id": "r2", "wall_time_s": 2.5}))
    text = client.get("/metrics").text
    assert _value(text, "harmonia_coordinator_sites", state="enrolled") == 1
    assert _value(text, "harmonia_coordinator_sites", state="pending") == 1
    assert _value(text, "harmonia_coordinator_certificates_issued_total") == 1
    assert _value(text, "harmonia_coordinator_rounds_count") == 2
    assert _value(text, "harmonia_coordinator_rounds_sum") == 15.0
    assert (
        _value(
            text,
            "harmonia_coordinator_http_requests_total",
            method="POST",
            route="/api/v1/enroll",
            status="200",
        )
        + _value(
            text,
            "harmonia_coordinator_http_requests_total",
            method="POST",
            route="/api/v1/enroll",
            status="201",
        )
        == 1
    )
    assert issued.token not in text and admin not in text


def test_readyz_fails_while_the_certificates_are_missing(
    coordinator_settings: CoordinatorSettings, coordinator: CoordinatorRuntime
) -> None:
    client = TestClient(create_app(coordinator_settings, runtime=coordinator))
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert [c["name"] for c in ready.json()["checks"]] == ["database", "schema", "keys"]
    ca = coordinator.keys.ca_certificate_path
    ca.rename(ca.with_suffix(".aside"))
    try:
        broken = client.get("/readyz")
    finally:
        ca.with_suffix(".aside").rename(ca)
    assert broken.status_code == 503
    (failed,) = [c for c in broken.json()["checks"] if not c["ok"]]
    assert failed["name"] == "keys" and "cannot read the certificate" in failed["detail"]
    assert client.get("/readyz").status_code == 200
