"""The egress ledger and alert routes: entries, budgets, verify, export, dismiss."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from node.alerts import AlertKind, AlertStore
from node.api import create_app
from node.egress import EgressGate, PrivacyBudget, PrivacyCharge, Purpose
from node.runtime import NodeRuntime
from node.stats import POLICY_FILE

HEALTH = {"software_version": "0.1.0", "counters": {"instances": 3}}


@pytest.fixture
def client(runtime: NodeRuntime) -> TestClient:
    return TestClient(create_app(runtime.settings, runtime=runtime))


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def released(runtime: NodeRuntime) -> None:
    """Two health reports and a charged statistics-purpose entry."""
    gate = EgressGate(
        runtime.engine,
        site="hospital-a",
        budgets={Purpose.STATISTICS: PrivacyBudget(5.0, 1e-4)},
        ledger_key=runtime.egress_key,
    )
    gate.release("health", HEALTH, "coordinator")
    gate.release("health", HEALTH, "coordinator")
    runtime.egress_ledger.record(
        site="hospital-a",
        outcome="released",
        kind="agreement_statistics",
        destination="superlink",
        byte_count=120,
        sha256="b" * 64,
        round_id="round-7",
        purpose=Purpose.STATISTICS,
        charge=PrivacyCharge(1.5, 1e-6, "gaussian-z2-k2"),
        spent=gate.accountant.compose([PrivacyCharge(1.5, 1e-6, "gaussian-z2-k2")]),
    )


@pytest.mark.usefixtures("released")
def test_entries_are_listed_and_paged(client: TestClient, admin_token: str) -> None:
    page = client.get("/api/egress", params={"limit": 2}, headers=_auth(admin_token)).json()
    assert [e["seq"] for e in page["entries"]] == [1, 2] and page["head"] == 3
    rest = client.get("/api/egress", params={"after": 2}, headers=_auth(admin_token)).json()
    (entry,) = rest["entries"]
    assert (entry["kind"], entry["round_id"], entry["epsilon"], entry["mechanism"]) == (
        "agreement_statistics",
        "round-7",
        1.5,
        "gaussian-z2-k2",
    )
    health = client.get("/api/egress", params={"kind": "health"}, headers=_auth(admin_token))
    assert len(health.json()["entries"]) == 2
    bad = client.get("/api/egress", params={"outcome": "leaked"}, headers=_auth(admin_token))
    assert bad.status_code == 400


@pytest.mark.usefixtures("released")
def test_budgets_show_spent_and_left_per_purpose(
    client: TestClient, admin_token: str, runtime: NodeRuntime
) -> None:
    (runtime.settings.data_dir / POLICY_FILE).write_text(json.dumps({"epsilon": 5, "delta": 1e-4}))
    purposes = client.get("/api/egress/budgets", headers=_auth(admin_token)).json()["purposes"]
    by = {p["purpose"]: p for p in purposes}
    assert set(by) == {"training", "statistics"}
    statistics = by["statistics"]
    assert statistics["budget"] == {"epsilon": 5.0, "delta": 1e-4, "period_days": None}
    assert statistics["spent"] == {"epsilon": 1.5, "delta": 1e-6}
    assert statistics["left"]["epsilon"] == pytest.approx(3.5)
    assert statistics["charged_releases"] == 1 and statistics["as_of"]
    assert by["training"]["budget"] is None and by["training"]["left"] is None
    assert by["training"]["spent"] == {"epsilon": 0.0, "delta": 0.0}


@pytest.mark.usefixtures("released")
def test_verify_reports_an_intact_then_a_tampered_ledger(
    client: TestClient, admin_token: str, runtime: NodeRuntime
) -> None:
    intact = client.get("/api/egress/verify", headers=_auth(admin_token)).json()
    assert intact["intact"] and intact["entries"] == 3 and intact["head_seq"] == 3
    with runtime.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER egress_ledger_no_update"))
        connection.execute(text("UPDATE egress_ledger SET epsilon = 0.1 WHERE seq = 3"))
    broken = client.get("/api/egress/verify", headers=_auth(admin_token)).json()
    assert not broken["intact"] and broken["first_bad_seq"] == 3
    assert "changed" in broken["problem"] and broken["warnings"]


@pytest.mark.usefixtures("released")
def test_export_downloads_jsonl_or_csv_and_is_audited(
    client: TestClient, admin_token: str, runtime: NodeRuntime
) -> None:
    jsonl = client.get("/api/egress/export", headers=_auth(admin_token))
    assert jsonl.status_code == 200
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    assert 'filename="egress-ledger-' in jsonl.headers["content-disposition"]
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [r["seq"] for r in rows] == [1, 2, 3] and all(r["mac"] for r in rows)
    table = client.get("/api/egress/export", params={"format": "csv"}, headers=_auth(admin_token))
    assert table.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(table.text)))
    assert [r["entry_hash"] for r in parsed] == [r["entry_hash"] for r in rows]
    refused = client.get("/api/egress/export", params={"format": "xml"}, headers=_auth(admin_token))
    assert refused.status_code == 400 and "format" in refused.text
    audited = runtime.audit.search(target_type="egress_ledger")
    assert [e.detail["format"] for e in audited] == ["jsonl", "csv"]


def test_alerts_are_listed_and_dismissed(
    client: TestClient, admin_token: str, runtime: NodeRuntime
) -> None:
    store = AlertStore(runtime.engine)
    raised = store.raise_alert(
        AlertKind.GUIDELINE_RELEASE_REFUSED, "chest@1.1", "refused: bad signature"
    )
    listed = client.get("/api/alerts", headers=_auth(admin_token)).json()["alerts"]
    assert [(a["id"], a["subject"], a["open"]) for a in listed] == [(raised.id, "chest@1.1", True)]
    dismissed = client.post(f"/api/alerts/{raised.id}/dismiss", headers=_auth(admin_token))
    assert dismissed.status_code == 200 and dismissed.json()["open"] is False
    assert client.get("/api/alerts", headers=_auth(admin_token)).json()["alerts"] == []
    every = client.get(
        "/api/alerts", params={"include_dismissed": True}, headers=_auth(admin_token)
    ).json()["alerts"]
    assert every[0]["dismissed_by"] == "token:test-admin"
    missing = client.post("/api/alerts/9999/dismiss", headers=_auth(admin_token))
    assert missing.status_code == 404 and "GET /api/alerts" in missing.json()["detail"]
    assert runtime.audit.search(target_type="alert")[0].detail == {"dismissed": "chest@1.1"}
