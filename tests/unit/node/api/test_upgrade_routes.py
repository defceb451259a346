"""Project upgrade and the re-review queue through TestClient."""

from __future__ import annotations

import yaml
from fastapi.testclient import TestClient

from tests.unit.node.annotate.conftest import EXAMPLE
from tests.unit.node.api.test_annotation_routes import _box, _project, _rads, api  # noqa: F401


def _revised_yaml(version: str) -> str:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["version"] = version
    for label in data["labels"]:
        if label["name"] == "lung-rads":
            label["criteria"] = "Lung-RADS v2022, category 2 now includes perifissural nodules"
    return yaml.safe_dump(data)


def test_upgrade_fills_the_rereview_queue(api: tuple[TestClient, dict]) -> None:  # noqa: F811
    client, people = api
    task_id = _project(client, people)
    for reader in ("alice", "bob"):
        client.post(f"/api/tasks/{task_id}/annotations", json=_box(5), headers=people[reader])
        client.post(f"/api/tasks/{task_id}/annotations", json=_rads("2"), headers=people[reader])
        done = client.post(f"/api/tasks/{task_id}/complete", headers=people[reader])
        assert done.status_code == 200, done.text
    loaded = client.post(
        "/api/guidelines",
        content=_revised_yaml("1.1"),
        headers={**people["admin"], "Content-Type": "application/yaml"},
    )
    assert loaded.status_code == 201, loaded.text
    denied = client.post(
        "/api/projects/lung/upgrade",
        json={"name": "lung-nodule", "version": "1.1"},
        headers=people["rita"],
    )
    assert denied.status_code == 403
    upgraded = client.post(
        "/api/projects/lung/upgrade",
        json={"name": "lung-nodule", "version": "1.1"},
        headers=people["admin"],
    )
    assert upgraded.status_code == 200, upgraded.text
    assert upgraded.json()["rereview_labels"] == ["lung-rads"]
    assert upgraded.json()["tasks"] == [task_id]
    queue = client.get("/api/review/rereview", headers=people["rita"]).json()["items"]
    assert {(i["task_id"], i["reader"]) for i in queue} == {(task_id, "alice"), (task_id, "bob")}
    assert queue[0]["reason"].startswith("re-review: guideline lung-nodule@1.1")
    assert client.get("/api/review/rereview", headers=people["alice"]).status_code == 403
    again = client.post(
        "/api/projects/lung/upgrade",
        json={"name": "lung-nodule", "version": "1.1"},
        headers=people["admin"],
    )
    assert (again.status_code, again.json()["error"]) == (422, "ProjectSetupError")
