"""Sign-in over HTTP: the session cookie, CSRF, sign-out, lockout, and user management."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from node.api import create_app
from node.auth import PasswordHasher, Role
from node.runtime import NodeRuntime
from node.settings import DeploymentProfile, NodeSettings
from shared.errors import ConfigurationError

PASSWORD = "correct horse battery"


@pytest.fixture
def node(runtime: NodeRuntime) -> NodeRuntime:
    runtime.users.hasher = PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1)
    runtime.users.create("root", PASSWORD, Role.ADMIN)
    runtime.users.create("ann", PASSWORD, Role.ANNOTATOR)
    return runtime


def _client(runtime: NodeRuntime) -> TestClient:
    # Secure cookies are only sent back over https, as a browser would.
    return TestClient(create_app(runtime.settings, runtime=runtime), base_url="https://testserver")


def _login(client: TestClient, username: str) -> str:
    response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def test_login_sets_a_locked_down_cookie_and_returns_the_csrf_token(node: NodeRuntime) -> None:
    client = _client(node)
    response = client.post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == "ann" and body["user"]["role"] == "annotator"
    assert "annotate" in body["user"]["permissions"]
    assert "administer" not in body["user"]["permissions"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("harmonia_session=")
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "secure" in lowered
    assert "path=/" in lowered
    me = client.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["csrf_token"] == body["csrf_token"]
    assert me.json()["user"]["username"] == "ann"


def test_cookie_without_secure_when_the_setting_is_off(runtime: NodeRuntime) -> None:
    settings = runtime.settings.model_copy(update={"session_cookie_secure": False})
    runtime.users.hasher = PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1)
    runtime.users.create("ann", PASSWORD, Role.ANNOTATOR)
    runtime.settings = settings
    client = TestClient(create_app(settings, runtime=runtime))
    response = client.post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
    assert "secure" not in response.headers["set-cookie"].lower()


def test_production_refuses_an_insecure_cookie(tmp_path: object) -> None:
    with pytest.raises(ConfigurationError, match="Secure"):
        NodeSettings(
            data_dir=tmp_path,  # type: ignore[arg-type]
            profile=DeploymentProfile.PRODUCTION,
            session_cookie_secure=False,
        )


def test_signing_in_again_replaces_the_session(node: NodeRuntime) -> None:
    client = _client(node)
    _login(client, "ann")
    first = client.cookies.get("harmonia_session")
    _login(client, "ann")
    assert client.cookies.get("harmonia_session") != first
    old = _client(node)
    old.cookies.set("harmonia_session", first or "")
    assert old.get("/api/auth/me").status_code == 401


def test_safe_requests_need_no_csrf_token(node: NodeRuntime) -> None:
    client = _client(node)
    _login(client, "ann")
    assert client.get("/dicom-web/studies").status_code == 200


def test_unsafe_cookie_requests_need_the_csrf_header(node: NodeRuntime) -> None:
    client = _client(node)
    csrf = _login(client, "root")
    new_user = {"username": "bob", "password": PASSWORD, "role": "reviewer"}
    missing = client.post("/api/users", json=new_user)
    assert missing.status_code == 403 and missing.json()["error"] == "CsrfError"
    wrong = client.post("/api/users", json=new_user, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    right = client.post("/api/users", json=new_user, headers={"X-CSRF-Token": csrf})
    assert right.status_code == 201 and right.json()["role"] == "reviewer"


def test_bearer_tokens_need_no_csrf_token(node: NodeRuntime, admin_token: str) -> None:
    client = _client(node)
    response = client.post(
        "/api/users",
        json={"username": "bob", "password": PASSWORD, "role": "reviewer"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert response.status_code == 201


def test_logout_ends_the_session(node: NodeRuntime) -> None:
    client = _client(node)
    csrf = _login(client, "ann")
    assert client.post("/api/auth/logout").status_code == 403  # CSRF applies to logout too
    response = client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert (
        'harmonia_session=""' in response.headers["set-cookie"]
        or "Max-Age=0" in (response.headers["set-cookie"])
    )
    assert client.get("/api/auth/me").status_code == 401


def test_stolen_cookie_stops_working_after_logout(node: NodeRuntime) -> None:
    client = _client(node)
    csrf = _login(client, "ann")
    stolen = client.cookies.get("harmonia_session")
    client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    thief = _client(node)
    thief.cookies.set("harmonia_session", stolen or "")
    assert thief.get("/api/auth/me").status_code == 401


def test_wrong_password_then_lockout_with_retry_after(node: NodeRuntime) -> None:
    client = _client(node)
    attempts = [
        client.post("/api/auth/login", json={"username": "ann", "password": "nope nope nope"})
        for _ in range(node.settings.login_max_failures)
    ]
    assert [a.status_code for a in attempts[:-1]] == [401] * (len(attempts) - 1)
    assert attempts[0].json()["detail"] == "wrong username or password"
    locked = attempts[-1]
    assert locked.status_code == 429 and locked.json()["error"] == "AccountLockedError"
    assert "try again after" in locked.json()["detail"]
    assert int(locked.headers["retry-after"]) > 0
    again = client.post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
    assert again.status_code == 429


def test_disabled_user_gets_403_on_login(node: NodeRuntime) -> None:
    node.users.disable("ann", actor="root")
    response = _client(node).post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
    assert response.status_code == 403 and "disabled" in response.json()["detail"]


def test_sign_ins_are_audited(node: NodeRuntime) -> None:
    client = _client(node)
    client.post("/api/auth/login", json={"username": "ann", "password": "wrong password"})
    csrf = _login(client, "ann")
    client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    actions = [(e.actor, e.action) for e in node.audit.entries() if e.target_id == "ann"]
    assert actions[-3:] == [("ann", "login_failed"), ("ann", "logged_in"), ("ann", "logged_out")]
    assert all(e.detail.get("remote") for e in node.audit.entries() if e.action == "logged_in")


def test_me_for_a_user_token_and_a_bare_token(node: NodeRuntime, read_token: str) -> None:
    client = _client(node)
    ann_id = node.users.get("ann").id
    token = node.tokens.issue("ann-script", [], user_id=ann_id).token
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["user"]["username"] == "ann" and me["csrf_token"] is None
    bare = client.get("/api/auth/me", headers={"Authorization": f"Bearer {read_token}"}).json()
    assert bare["user"]["username"] == "token:test-reader" and bare["user"]["role"] is None
    assert bare["user"]["permissions"] == ["view_images"]


def test_user_management(node: NodeRuntime, admin_token: str) -> None:
    client = _client(node)
    admin = {"Authorization": f"Bearer {admin_token}"}
    listed = client.get("/api/users", headers=admin).json()
    assert [u["username"] for u in listed] == ["ann", "root"]
    assert all("password" not in key for u in listed for key in u)
    duplicate = client.post(
        "/api/users", json={"username": "ann", "password": PASSWORD, "role": "admin"}, headers=admin
    )
    assert duplicate.status_code == 409
    weak = client.post(
        "/api/users", json={"username": "eve", "password": "short", "role": "admin"}, headers=admin
    )
    assert weak.status_code == 400 and "at least" in weak.json()["detail"]
    changed = client.patch(
        "/api/users/ann", json={"role": "reviewer", "display_name": "Ann R."}, headers=admin
    )
    assert changed.status_code == 200
    assert changed.json()["role"] == "reviewer" and changed.json()["display_name"] == "Ann R."
    disabled = client.patch("/api/users/ann", json={"disabled": True}, headers=admin)
    assert disabled.json()["disabled"] is True
    assert client.patch("/api/users/nobody", json={}, headers=admin).status_code == 404
    assert client.patch("/api/users/ann", json={"role": "root"}, headers=admin).status_code == 400


def test_annotator_cannot_manage_users(node: NodeRuntime) -> None:
    client = _client(node)
    csrf = _login(client, "ann")
    assert client.get("/api/users").status_code == 403
    escalate = client.patch(
        "/api/users/ann", json={"role": "admin"}, headers={"X-CSRF-Token": csrf}
    )
    assert escalate.status_code == 403
    assert node.users.get("ann").role is Role.ANNOTATOR


def test_issue_a_token_for_a_user_over_the_api(node: NodeRuntime, admin_token: str) -> None:
    client = _client(node)
    issued = client.post(
        "/api/v1/tokens",
        json={"name": "ann-cli", "user": "ann"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert issued.status_code == 201 and issued.json()["user_id"] == node.users.get("ann").id
    token = issued.json()["token"]
    assert client.get("/api/users", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    no_scope = client.post(
        "/api/v1/tokens", json={"name": "x"}, headers={"Authorization": f"Bearer {admin_token}"}
    )
    assert no_scope.status_code == 400


def test_wado_retrieval_is_audited_as_viewed(runtime: NodeRuntime, read_token: str) -> None:
    from tests.unit.node.api.dicomweb_fixtures import ingest

    stored = ingest(runtime, "CT_small.dcm")["CT_small.dcm"]
    client = _client(runtime)
    response = client.get(stored.url, headers={"Authorization": f"Bearer {read_token}"})
    assert response.status_code == 200
    viewed = [e for e in runtime.audit.entries() if e.action == "viewed"]
    assert [(e.actor, e.target_type, e.target_id) for e in viewed] == [
        ("token:test-reader", "instance", stored.instance)
    ]
    assert viewed[0].detail == {"via": "wado-rs", "instances": 1}


def test_admins_read_and_verify_the_audit_log(node: NodeRuntime, admin_token: str) -> None:
    client = _client(node)
    admin = {"Authorization": f"Bearer {admin_token}"}
    _login(client, "ann")
    found = client.get("/api/audit", params={"actor": "ann"}, headers=admin).json()
    assert [e["action"] for e in found["entries"]] == ["logged_in"]
    assert found["head"] == node.audit.count()
    page = client.get("/api/audit", params={"after": 1, "limit": 1}, headers=admin).json()
    assert [e["seq"] for e in page["entries"]] == [2]
    verified = client.get("/api/audit/verify", headers=admin).json()
    assert verified["intact"] and verified["entries"] == node.audit.count()
    assert client.get("/api/audit").status_code == 403  # ann's session: not an admin


def test_users_change_their_own_password(node: NodeRuntime, read_token: str) -> None:
    client = _client(node)
    csrf = _login(client, "ann")
    change = {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
    wrong = client.post(
        "/api/auth/password",
        json={**change, "current_password": "not it at all"},
        headers={"X-CSRF-Token": csrf},
    )
    assert wrong.status_code == 401
    assert client.post("/api/auth/password", json=change).status_code == 403  # no CSRF
    done = client.post("/api/auth/password", json=change, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 204
    assert client.get("/api/auth/me").status_code == 401  # every session ended
    again = client.post(
        "/api/auth/login", json={"username": "ann", "password": "a brand new passphrase"}
    )
    assert again.status_code == 200
    token = client.post(
        "/api/auth/password", json=change, headers={"Authorization": f"Bearer {read_token}"}
    )
    assert token.status_code == 400 and "no password" in token.json()["detail"]
