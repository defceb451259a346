"""The annotation API end to end through TestClient: two readers, review, adjudication."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from node.api import create_app
from node.auth import Role
from node.runtime import NodeRuntime
from tests.unit.node.annotate.conftest import EXAMPLE, ingest_phantom


def _user(runtime: NodeRuntime, username: str, role: Role) -> dict[str, str]:
    user = runtime.users.create(username, None, role)
    token = runtime.tokens.issue(f"{username}-token", [], user_id=user.id).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(runtime: NodeRuntime) -> tuple[TestClient, dict[str, dict[str, str]]]:
    ingest_phantom(runtime)
    people = {
        "admin": _user(runtime, "ada", Role.ADMIN),
        "alice": _user(runtime, "alice", Role.ANNOTATOR),
        "bob": _user(runtime, "bob", Role.ANNOTATOR),
        "rita": _user(runtime, "rita", Role.REVIEWER),
        "eve": _user(runtime, "eve", Role.ANNOTATOR),
    }
    return TestClient(create_app(runtime.settings, runtime=runtime)), people


def _project(client: TestClient, people: dict[str, dict[str, str]]) -> int:
    loaded = client.post(
        "/api/guidelines",
        content=Path(EXAMPLE).read_bytes(),
        headers={**people["admin"], "Content-Type": "application/yaml"},
    )
    assert loaded.status_code == 201, loaded.text
    assert loaded.json()["name"] == "lung-nodule" and len(loaded.json()["sha256"]) == 64
    again = client.post(
        "/api/guidelines",
        content=Path(EXAMPLE).read_bytes(),
        headers={**people["admin"], "Content-Type": "application/yaml"},
    )
    assert again.status_code == 200 and again.json()["created"] is False
    created = client.post(
        "/api/projects",
        json={
            "name": "lung",
            "guideline": {"name": "lung-nodule", "version": "1.0"},
            "query": {"modality": "CT"},
            "readers_per_task": 2,
            "readers": ["alice", "bob"],
            "reviewers": ["rita"],
        },
        headers=people["admin"],
    )
    assert created.status_code == 201, created.text
    assert created.json()["task_count"] == 1
    work = client.get("/api/worklist", headers=people["alice"]).json()
    assert work["progress"] == {"done": 0, "total": 1}
    return int(work["tasks"][0]["id"])


def _box(x0: float, slice_: int = 1) -> dict[str, Any]:
    return {
        "label": "nodule-box",
        "kind": "box",
        "confidence": 3,
        "geometry": {"slice": slice_, "x0": x0, "y0": 10, "x1": x0 + 20, "y1": 30},
    }


def _rads(value: str) -> dict[str, Any]:
    return {"label": "lung-rads", "kind": "classification", "geometry": {"value": value}}


def test_two_readers_disagree_then_adjudication(api: tuple[TestClient, dict]) -> None:
    client, people = api
    task_id = _project(client, people)

    saved = client.post(f"/api/tasks/{task_id}/annotations", json=_box(5), headers=people["alice"])
    assert saved.status_code == 201, saved.text
    aid = saved.json()["annotation_id"]
    assert saved.json()["revision"] == 1 and saved.json()["geometry"]["x0"] == 5

    bad = client.post(
        f"/api/tasks/{task_id}/annotations", json={**_box(5), "label": "x"}, headers=people["alice"]
    )
    assert bad.status_code == 422 and bad.json()["error"] == "UnknownLabelError"

    revised = client.put(
        f"/api/annotations/{aid}", json={**_box(6), "base_revision": 1}, headers=people["alice"]
    )
    assert revised.status_code == 200 and revised.json()["revision"] == 2
    stale = client.put(
        f"/api/annotations/{aid}", json={**_box(7), "base_revision": 1}, headers=people["alice"]
    )
    assert stale.status_code == 409 and stale.json()["error"] == "RevisionConflictError"
    diff = client.get(f"/api/annotations/{aid}/diff?from=1&to=2", headers=people["alice"]).json()
    assert {c["path"] for c in diff["changes"]} == {"geometry.x0", "geometry.x1"}
    assert (diff["from"], diff["to"]) == (1, 2) and diff["changes"][0]["from"] == 5
    history = client.get(f"/api/annotations/{aid}/revisions", headers=people["alice"]).json()
    assert [r["revision"] for r in history["revisions"]] == [1, 2]

    # Bob is blinded: he sees neither Alice's annotation nor its history.
    bob_view = client.get(f"/api/tasks/{task_id}", headers=people["bob"]).json()
    assert bob_view["annotations"] == [] and bob_view["blinded"] is True
    assert len(bob_view["slices"]) == 4 and bob_view["guideline"]["name"] == "lung-nodule"
    assert client.get(f"/api/annotations/{aid}/revisions", headers=people["bob"]).status_code == 404
    assert client.get(f"/api/tasks/{task_id}", headers=people["eve"]).status_code == 403
    assert (
        client.put(
            f"/api/annotations/{aid}", json={**_box(9), "base_revision": 2}, headers=people["bob"]
        ).status_code
        == 403
    )

    missing = client.post(f"/api/tasks/{task_id}/complete", headers=people["alice"])
    assert missing.status_code == 422 and "lung-rads" in missing.json()["detail"]
    client.post(f"/api/tasks/{task_id}/annotations", json=_rads("2"), headers=people["alice"])
    done = client.post(f"/api/tasks/{task_id}/complete", headers=people["alice"])
    assert done.status_code == 200 and done.json()["my_status"] == "done"
    assert client.get("/api/worklist", headers=people["alice"]).json()["progress"]["done"] == 1

    # Bob draws elsewhere and disagrees on Lung-RADS: adjudication.
    client.post(f"/api/tasks/{task_id}/annotations", json=_box(40, 2), headers=people["bob"])
    client.post(f"/api/tasks/{task_id}/annotations", json=_rads("4A"), headers=people["bob"])
    closed = client.post(f"/api/tasks/{task_id}/complete", headers=people["bob"])
    assert closed.json()["status"] == "adjudication"
    assert (
        len(client.get(f"/api/tasks/{task_id}", headers=people["bob"]).json()["annotations"]) == 4
    )

    queue = client.get("/api/adjudication/queue", headers=people["rita"]).json()
    assert [t["id"] for t in queue["tasks"]] == [task_id]
    assert client.get("/api/adjudication/queue", headers=people["alice"]).status_code == 403
    case = client.get(f"/api/tasks/{task_id}/adjudication", headers=people["rita"]).json()
    assert set(case["readers_annotations"]) == {"alice", "bob"}
    box_f1 = [f for f in case["agreement"] if f["label"] == "nodule-box" and f["metric"] == "f1"]
    assert box_f1[0]["value"] == 0.0
    resolved = client.post(
        f"/api/tasks/{task_id}/adjudication",
        json={"annotations": [_box(6), _rads("3")]},
        headers=people["rita"],
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "consensus"
    consensus = client.get(f"/api/tasks/{task_id}/consensus", headers=people["alice"]).json()
    by_label = {c["label"]: c for c in consensus["labels"]}
    assert by_label["lung-rads"]["method"] == "adjudicated"
    assert by_label["lung-rads"]["annotations"][0]["geometry"] == {"value": "3"}

    # Review: reject Bob with a reason; he sees it and the task reopens.
    queue = client.get("/api/review/queue", headers=people["rita"]).json()
    assert {i["reader"] for i in queue["items"]} == {"alice", "bob"}
    rejected = client.post(
        f"/api/tasks/{task_id}/review",
        json={"reader": "bob", "decision": "reject", "reason": "box on the wrong slice"},
        headers=people["rita"],
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "open"
    item = client.get("/api/worklist", headers=people["bob"]).json()["tasks"][0]
    assert item["my_status"] == "rejected" and item["review_reason"] == "box on the wrong slice"
    no_reason = client.post(
        f"/api/tasks/{task_id}/review",
        json={"reader": "alice", "decision": "reject"},
        headers=people["rita"],
    )
    assert no_reason.status_code == 422
    approved = client.post(
        f"/api/tasks/{task_id}/review",
        json={"reader": "alice", "decision": "approve"},
        headers=people["rita"],
    )
    assert approved.status_code == 200


def test_agreeing_readers_reach_consensus(api: tuple[TestClient, dict]) -> None:
    client, people = api
    task_id = _project(client, people)
    for reader, x0 in (("alice", 10), ("bob", 11)):
        client.post(f"/api/tasks/{task_id}/annotations", json=_box(x0), headers=people[reader])
        client.post(f"/api/tasks/{task_id}/annotations", json=_rads("2"), headers=people[reader])
        client.post(f"/api/tasks/{task_id}/complete", headers=people[reader])
    consensus = client.get(f"/api/tasks/{task_id}/consensus", headers=people["rita"]).json()
    assert consensus["status"] == "consensus"
    methods = {c["label"]: c["method"] for c in consensus["labels"]}
    assert methods["lung-rads"] == "majority" and methods["nodule-box"] == "cluster-majority"
    assert methods["nodule-mask"] == "staple"
    box = {c["label"]: c for c in consensus["labels"]}["nodule-box"]["annotations"][0]
    assert box["geometry"]["x0"] == pytest.approx(10.5)


def test_delete_is_a_tombstone_and_roles_are_checked(api: tuple[TestClient, dict]) -> None:
    client, people = api
    task_id = _project(client, people)
    aid = client.post(
        f"/api/tasks/{task_id}/annotations", json=_box(5), headers=people["alice"]
    ).json()["annotation_id"]
    gone = client.delete(f"/api/annotations/{aid}?base_revision=1", headers=people["alice"])
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    history = client.get(f"/api/annotations/{aid}/revisions", headers=people["alice"]).json()
    assert [r["tombstone"] for r in history["revisions"]] == [False, True]
    assert client.get(f"/api/tasks/{task_id}", headers=people["alice"]).json()["annotations"] == []
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"AnnotationPublic", "TaskDetailPublic", "ConsensusPublic"} <= set(schema)
    assert client.post("/api/projects", json={}, headers=people["alice"]).status_code == 403
    assert client.get("/api/worklist").status_code == 401
    assert client.get("/api/review/queue", headers=people["bob"]).status_code == 403
    bad_yaml = client.post(
        "/api/guidelines",
        content=b"name: [",
        headers={**people["admin"], "Content-Type": "application/yaml"},
    )
    assert bad_yaml.status_code == 422 and bad_yaml.json()["error"] == "InvalidGuidelineError"
    listed = client.get("/api/guidelines", headers=people["bob"]).json()["guidelines"]
    assert [g["name"] for g in listed] == ["lung-nodule"]
    full = client.get("/api/guidelines/lung-nodule/1.0", headers=people["bob"]).json()
    assert full["guideline"]["labels"][0]["name"] == "nodule-mask"
    assert client.get("/api/projects/lung", headers=people["bob"]).json()["readers"] == [
        "alice",
        "bob",
    ]


def test_malformed_payloads_are_4xx_never_500(api: tuple[TestClient, dict]) -> None:
    client, people = api
    task_id = _project(client, people)
    weird: list[Any] = [
        None,
        0,
        -1,
        1e308,
        "x",
        [],
        {},
        [1, 2],
        {"a": 1},
        True,
        2**70,
        [[1, 2], [3]],
    ]
    fields = ["slice", "x0", "y0", "x1", "y1", "x", "y", "points", "slices", "key_slices", "value"]
    rnd = random.Random(4)
    statuses: set[int] = set()
    for _ in range(300):
        geometry = {k: rnd.choice(weird) for k in rnd.sample(fields, rnd.randint(0, 5))}
        body: Any = {
            "label": rnd.choice(["nodule-box", "nodule-mask", "lung-rads", "nodule-centre", "x"]),
            "kind": rnd.choice(["box", "polygon", "mask", "keypoint", "length", "zzz"]),
            "geometry": geometry,
            "confidence": rnd.choice([None, 3, 9, "a"]),
            "cannot_assess": rnd.choice([False, True, "x"]),
        }
        if rnd.random() < 0.1:
            body = rnd.choice(weird)
        response = client.post(
            f"/api/tasks/{task_id}/annotations", json=body, headers=people["alice"]
        )
        statuses.add(response.status_code)
        assert response.status_code in (201, 400, 422), (body, response.text)
    assert 422 in statuses
