"""The dashboard's routes through TestClient: sign-in sessions, sites, rounds, drafts, the UI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from coordinator.api import create_app
from coordinator.api.deps import SESSION_COOKIE
from coordinator.api.routes.ui import CONTENT_SECURITY_POLICY, common_ui_directory, ui_directory
from coordinator.auth import Role
from coordinator.rounds import RoundStore
from coordinator.runtime import CoordinatorRuntime, open_coordinator
from coordinator.settings import CoordinatorSettings
from tests.unit.coordinator.api.test_routes import enrolled, site_client
from tests.unit.coordinator.conftest import GUIDELINE, auth, token_for


def signed_in(client: TestClient, token: str) -> str:
    """Sign ``client`` in with ``token``; the session's CSRF token."""
    answer = client.post("/api/v1/auth/login", json={"token": token})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["csrf_token"])


# -- sign-in ---------------------------------------------------------------------------------


def test_signing_in_sets_an_httponly_strict_cookie_and_returns_no_token(
    client: TestClient, coordinator: CoordinatorRuntime
) -> None:
    token = token_for(coordinator, Role.GUIDELINE_EDITOR, "gail")
    answer = client.post("/api/v1/auth/login", json={"token": token})
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # the development coordinator's public URL is http
    body = answer.json()
    assert body["user"] == {
        "username": "gail",
        "role": "guideline-editor",
        "permissions": ["publish_guidelines", "view"],
    }
    assert token not in answer.text and token not in cookie
    me = client.get("/api/v1/auth/me").json()
    assert me["user"]["username"] == "gail" and me["csrf_token"] == body["csrf_token"]


def test_the_cookie_is_secure_behind_an_https_public_url(tmp_path: Path) -> None:
    settings = CoordinatorSettings(
        data_dir=tmp_path / "c", public_url="https://coordinator.example", fsync=False
    )
    with open_coordinator(settings) as runtime:
        client = TestClient(create_app(settings, runtime=runtime), base_url="https://testserver")
        token = runtime.tokens.issue("v", role=Role.VIEWER).token
        answer = client.post("/api/v1/auth/login", json={"token": token})
        assert "Secure" in answer.headers["set-cookie"]


def test_a_bad_token_signs_nobody_in(client: TestClient) -> None:
    answer = client.post("/api/v1/auth/login", json={"token": "hca_nope"})
    assert answer.status_code == 401 and answer.json()["error"] == "AuthError"
    assert "set-cookie" not in answer.headers
    assert client.post("/api/v1/auth/login", json={}).status_code == 400
    assert client.get("/api/v1/auth/me").status_code == 401


def test_a_session_needs_its_csrf_token_to_change_anything(
    client: TestClient, coordinator: CoordinatorRuntime
) -> None:
    csrf = signed_in(client, token_for(coordinator, Role.COORDINATOR_ADMIN))
    assert client.get("/api/v1/sites").status_code == 200  # reads need no CSRF token
    refused = client.post("/api/v1/sites", json={"name": "alpha"})
    assert refused.status_code == 403 and refused.json()["error"] == "CsrfError"
    wrong = client.post("/api/v1/sites", json={"name": "alpha"}, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    done = client.post("/api/v1/sites", json={"name": "alpha"}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 201


def test_signing_out_ends_the_session_and_clears_the_cookie(
    client: TestClient, coordinator: CoordinatorRuntime
) -> None:
    csrf = signed_in(client, token_for(coordinator, Role.VIEWER))
    session_id = client.cookies[SESSION_COOKIE]
    assert client.post("/api/v1/auth/logout").status_code == 403  # CSRF applies to sign-out
    out = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]
    client.cookies.set(SESSION_COOKIE, session_id)  # replaying the old cookie
    assert client.get("/api/v1/auth/me").status_code == 401


def test_revoking_the_token_ends_its_sessions(
    client: TestClient, coordinator: CoordinatorRuntime
) -> None:
    issued = coordinator.tokens.issue("rita", role=Role.VIEWER)
    signed_in(client, issued.token)
    coordinator.tokens.revoke(issued.token_id)
    answer = client.get("/api/v1/dashboard/sites")
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


def test_a_bearer_token_still_works_and_me_has_no_csrf_for_it(
    client: TestClient, coordinator: CoordinatorRuntime
) -> None:
    me = client.get("/api/v1/auth/me", headers=auth(token_for(coordinator, Role.VIEWER)))
    assert me.status_code == 200 and me.json()["csrf_token"] is None


# -- sites, health, rounds -------------------------------------------------------------------


def test_sites_overview_shows_versions_last_seen_and_reported_charges(
    client: TestClient,
    coordinator: CoordinatorRuntime,
    coordinator_settings: CoordinatorSettings,
) -> None:
    coordinator.sites.add("pending-site", created_by="t")
    certificate = enrolled(client, coordinator, "hospital-a")
    site = site_client(coordinator_settings, coordinator, certificate)
    report = site.post(
        "/api/v1/site/health",
        json={"software_version": "0.3.1", "flwr_version": "1.41.0", "counters": {"studies": 4}},
    )
    assert report.status_code == 200, report.text
    assert report.json()["software_version"] == "0.3.1"
    RoundStore(coordinator_settings.data_dir).save(
        {
            "round_id": "stats-1",
            "started_at": "2026-01-01T00:00:00+00:00",
            "sites": {"hospital-a": {"status": "answered", "epsilon": [0.5], "delta": [1e-6]}},
        }
    )
    viewer = auth(token_for(coordinator, Role.VIEWER))
    listed = client.get("/api/v1/dashboard/sites", headers=viewer).json()["sites"]
    rows = {r["name"]: r for r in listed}
    a = rows["hospital-a"]
    assert a["status"] == "enrolled" and a["software_version"] == "0.3.1"
    assert a["version_source"] == "health" and a["last_seen_at"] is not None
    assert a["health"]["counters"] == {"studies": 4}
    assert a["privacy"]["epsilon_sum"] == 0.5 and a["privacy"]["rounds_answered"] == 1
    assert a["unknown"] == []
    assert rows["pending-site"]["unknown"] == ["last_seen_at", "software_version", "privacy"]


def test_any_site_api_call_marks_the_site_seen(
    client: TestClient,
    coordinator: CoordinatorRuntime,
    coordinator_settings: CoordinatorSettings,
) -> None:
    certificate = enrolled(client, coordinator, "hospital-b")
    coordinator.site_activity._touched.clear()  # forget the enrollment's write throttle
    before = coordinator.site_activity.get("hospital-b").last_seen_at
    site = site_client(coordinator_settings, coordinator, certificate)
    assert site.get("/api/v1/site/guidelines").status_code == 200
    after = coordinator.site_activity.get("hospital-b").last_seen_at
    assert before is not None and after is not None and after > before


def test_a_bad_health_report_is_a_400_naming_the_problem(
    client: TestClient,
    coordinator: CoordinatorRuntime,
    coordinator_settings: CoordinatorSettings,
) -> None:
    site = site_client(coordinator_settings, coordinator, enrolled(client, coordinator, "h-c"))
    answer = site.post("/api/v1/site/health", json={"software_version": "1", "patient_name": "x"})
    assert answer.status_code == 400 and "patient_name" in answer.json()["detail"]
    json_type = {"content-type": "application/json"}
    answer = site.post("/api/v1/site/health", content=b"{", headers=json_type)
    assert answer.status_code == 400
    assert client.post("/api/v1/site/health", json={"software_version": "1"}).status_code == 401


def test_rounds_are_listed_and_read_and_unknown_ones_are_404(
    client: TestClient, coordinator: CoordinatorRuntime, coordinator_settings: CoordinatorSettings
) -> None:
    viewer = auth(token_for(coordinator, Role.VIEWER))
    assert client.get("/api/v1/rounds", headers=viewer).json() == {"rounds": []}
    RoundStore(coordinator_settings.data_dir).save({"round_id": "stats-9", "sites": {}})
    listed = client.get("/api/v1/rounds", headers=viewer).json()["rounds"]
    assert [r["round_id"] for r in listed] == ["stats-9"]
    assert client.get("/api/v1/rounds/stats-9", headers=viewer).json()["round_id"] == "stats-9"
    for bad in ["nope", "..%2Fsecrets", "%2E%2E"]:
        answer = client.get(f"/api/v1/rounds/{bad}", headers=viewer)
        assert answer.status_code == 404, (bad, answer.text)


# -- guideline drafts ------------------------------------------------------------------------


def test_validate_checks_a_draft_without_publishing(
    client: TestClient, coordinator: CoordinatorRuntime
) -> None:
    editor = auth(token_for(coordinator, Role.GUIDELINE_EDITOR))
    first = client.post("/api/v1/guidelines/validate", json=GUIDELINE, headers=editor)
    assert first.status_code == 200 and first.json()["publishable"] is True
    assert client.get("/api/v1/guidelines", headers=editor).json()["releases"] == []
    assert client.post("/api/v1/guidelines", json=GUIDELINE, headers=editor).status_code == 201
    again = client.post("/api/v1/guidelines/validate", json=GUIDELINE, headers=editor).json()
    assert again["publishable"] is False and "not newer" in again["problems"][0]
    draft = yaml.safe_dump({**GUIDELINE, "version": "1.1", "title": "Lung nodules, v1.1"})
    second = client.post(
        "/api/v1/guidelines/validate",
        content=draft,
        headers={**editor, "Content-Type": "application/yaml"},
    ).json()
    assert second["publishable"] and second["diff"]["from"] == "1" and second["diff"]["to"] == "1.1"


def test_validate_answers_422_with_every_schema_problem(
    client: TestClient, coordinator: CoordinatorRuntime
) -> None:
    editor = auth(token_for(coordinator, Role.GUIDELINE_EDITOR))
    broken = {"name": "lung", "version": "2", "labels": [{"name": "n", "kind": "blob"}]}
    answer = client.post("/api/v1/guidelines/validate", json=broken, headers=editor)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "title: Field required" in detail and "labels.0.kind" in detail
    not_yaml = client.post(
        "/api/v1/guidelines/validate",
        content="a: [",
        headers={**editor, "Content-Type": "application/yaml"},
    )
    assert not_yaml.status_code == 422 and "not valid YAML" in not_yaml.json()["detail"]
    huge = client.post(
        "/api/v1/guidelines/validate", content=b" " * (2 * 2**20 + 1), headers=editor
    )
    assert huge.status_code == 422
    viewer = auth(token_for(coordinator, Role.VIEWER))
    refused = client.post("/api/v1/guidelines/validate", json=GUIDELINE, headers=viewer)
    assert refused.status_code == 403


# -- the UI ----------------------------------------------------------------------------------


def test_root_redirects_to_the_dashboard(client: TestClient) -> None:
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"] == "/ui/"


def test_the_dashboard_is_served_with_a_strict_policy(client: TestClient) -> None:
    index = client.get("/ui/")
    assert index.status_code == 200 and "<title>Harmonia coordinator</title>" in index.text
    assert index.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert index.headers["x-frame-options"] == "DENY"
    module = client.get("/ui/app.js")
    assert module.headers["content-type"].startswith("text/javascript")
    shared = client.get("/ui/common/charts.js")
    assert shared.status_code == 200 and "export function barChart" in shared.text
    assert shared.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    missing = client.get("/ui/no-such.js")
    assert missing.status_code == 404
    assert missing.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def _served(module: Path, target: str) -> Path:
    url = (module.parent / target).resolve().relative_to(ui_directory().resolve())
    if url.parts[0] == "common":
        return common_ui_directory().joinpath(*url.parts[1:])
    return ui_directory().joinpath(url)


def test_every_import_exists_and_nothing_is_inline_or_remote() -> None:
    index = (ui_directory() / "index.html").read_text()
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", index) is None
    assert " style=" not in index and "<style" not in index
    for root in (ui_directory(), common_ui_directory()):
        for path in sorted(root.rglob("*")):
            if path.suffix not in {".html", ".js", ".css"}:
                continue
            text = path.read_text()
            urls = re.findall(r"https?://[^\s\"')]+", text)
            assert all(url.startswith("http://www.w3.org/") for url in urls), (path, urls)
            assert "innerHTML" not in text and "eval(" not in text, path
            assert "localStorage" not in text and "sessionStorage" not in text, path
    for module in sorted(ui_directory().glob("*.js")):
        for target in re.findall(r'from "(\.[^"]+)"', module.read_text()):
            assert _served(module, target).is_file(), f"{module.name} imports {target}"


@pytest.mark.parametrize("name", ["api.js", "charts.js", "dom.js", "layout.js", "router.js"])
def test_the_shared_modules_are_served_to_the_dashboard(client: TestClient, name: str) -> None:
    answer = client.get(f"/ui/common/{name}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.text == (common_ui_directory() / name).read_text()
