"""The quality dashboard API through TestClient: views, formats, roles, audit."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from node.api import create_app
from node.auth import Role
from node.quality import COLUMNS, View
from node.runtime import NodeRuntime
from tests.unit.node.quality.conftest import (  # noqa: F401 (fixtures)
    ReadProject,
    guideline,
    read_project,
)

VIEWS = ["", "/labels", "/readers", "/pairs", "/drift", "/checks"]


def _user(runtime: NodeRuntime, username: str, role: Role) -> dict[str, str]:
    user = runtime.users.create(username, None, role)
    token = runtime.tokens.issue(f"{username}-token", [], user_id=user.id).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(read_project: ReadProject) -> tuple[TestClient, dict[str, dict[str, str]]]:  # noqa: F811
    runtime = read_project.runtime
    people = {
        "admin": _user(runtime, "ada", Role.ADMIN),
        "reviewer": _user(runtime, "rita", Role.REVIEWER),
        "annotator": _user(runtime, "alice", Role.ANNOTATOR),
    }
    return TestClient(create_app(runtime.settings, runtime=runtime)), people


def test_annotators_get_403_and_strangers_401(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, people = api
    for view in VIEWS:
        path = f"/api/quality/lung{view}"
        assert client.get(path, headers=people["annotator"]).status_code == 403, view
        assert client.get(path).status_code == 401, view
        assert client.get(path, headers=people["admin"]).status_code == 200, view


def test_summary_json_holds_every_view(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, people = api
    answer = client.get("/api/quality/lung", headers=people["reviewer"])
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["project"] == "lung" and body["guideline"] == "lung-nodule@1.0"
    assert body["tasks"]["total"] == 3
    assert body["readers"] == ["alice", "bob", "carol"]
    for key in ("labels", "versions", "pairs", "reader_figures", "drift", "findings"):
        assert key in body
    mask = next(row for row in body["labels"] if row["label"] == "nodule-mask")
    assert mask["metric"] == "pooled_dice" and 0 < mask["value"] < 1
    assert {row["label"] for row in body["versions"]} >= {"nodule-mask", "lung-rads"}
    assert any(f["check"] == "reader_outlier" and f["subject"] == "carol" for f in body["findings"])


CSV_VIEWS = [
    ("", View.SUMMARY),
    ("/labels", View.LABELS),
    ("/readers", View.READERS),
    ("/pairs", View.PAIRS),
    ("/drift", View.DRIFT),
    ("/checks", View.CHECKS),
]


def test_csv_has_each_views_columns(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, people = api
    for path, view in CSV_VIEWS:
        answer = client.get(f"/api/quality/lung{path}?format=csv", headers=people["reviewer"])
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        disposition = answer.headers["content-disposition"]
        assert f'filename="quality-lung-{view.value}.csv"' in disposition
        rows = list(csv.reader(io.StringIO(answer.text)))
        assert tuple(rows[0]) == COLUMNS[view]
        assert all(len(row) == len(COLUMNS[view]) for row in rows)
        assert len(rows) > 1, view


def test_weekly_drift_and_errors(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, people = api
    weekly = client.get("/api/quality/lung/drift?period=week", headers=people["reviewer"])
    assert weekly.json()["drift"]["period"] == "week"
    assert "-W" in weekly.json()["drift"]["points"][0]["window"]
    missing = client.get("/api/quality/nope", headers=people["reviewer"])
    assert missing.status_code == 404 and "no project 'nope'" in missing.json()["detail"]
    bad = client.get("/api/quality/lung?format=xml", headers=people["reviewer"])
    assert bad.status_code == 400 and "json or csv" in bad.json()["detail"]
    assert client.get("/api/quality/lung?period=day", headers=people["reviewer"]).status_code == 400


def test_viewing_is_audited(
    api: tuple[TestClient, dict[str, dict[str, str]]],
    read_project: ReadProject,  # noqa: F811
) -> None:
    client, people = api
    client.get("/api/quality/lung/pairs", headers=people["reviewer"])
    client.get("/api/quality/lung/pairs?format=csv", headers=people["reviewer"])
    entries = [e for e in read_project.runtime.audit.entries() if e.target_type == "quality"]
    assert [(e.actor, e.action, e.target_id) for e in entries] == [
        ("rita", "viewed", "lung"),
        ("rita", "exported", "lung"),
    ]
