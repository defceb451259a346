"""The AI-assistance API through TestClient: settings, drafts, accept / edit / reject, figures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from node.annotate import AnnotationService
from node.api import create_app
from node.assist import AssistService
from node.assist.models import bundle_from_bytes
from node.assist.torch_predictor import TorchPredictor
from node.auth import Role
from node.runtime import NodeRuntime
from shared.formats.rle import rle_decode, rle_encode
from shared.schemas import load_guideline
from tests.support.assist_model import train_segmenter
from tests.unit.node.annotate.conftest import EXAMPLE
from tests.unit.node.assist.conftest import ingest

Headers = dict[str, str]


def _user(runtime: NodeRuntime, username: str, role: Role) -> Headers:
    user = runtime.users.create(username, None, role)
    token = runtime.tokens.issue(f"{username}-token", [], user_id=user.id).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(runtime: NodeRuntime) -> tuple[TestClient, dict[str, Headers], int]:
    ingest(runtime, seed=301)
    people = {
        "admin": _user(runtime, "ada", Role.ADMIN),
        "alice": _user(runtime, "alice", Role.ANNOTATOR),
        "bob": _user(runtime, "bob", Role.ANNOTATOR),
        "rita": _user(runtime, "rita", Role.REVIEWER),
        "eve": _user(runtime, "eve", Role.ANNOTATOR),
    }
    client = TestClient(create_app(runtime.settings, runtime=runtime))
    guideline = load_guideline(EXAMPLE)
    loaded = client.post(
        "/api/guidelines", json=guideline.model_dump(mode="json"), headers=people["admin"]
    )
    assert loaded.status_code == 201, loaded.text
    created = client.post(
        "/api/projects",
        json={
            "name": "lung",
            "guideline": {"name": guideline.name, "version": guideline.version},
            "query": {"modality": "CT"},
            "readers_per_task": 2,
            "readers": ["alice", "bob"],
            "reviewers": ["rita"],
        },
        headers=people["admin"],
    )
    assert created.status_code == 201, created.text
    annotation = AnnotationService(runtime.engine, runtime.store, audit=runtime.audit)
    predictor = TorchPredictor(bundle_from_bytes(train_segmenter()))
    AssistService(annotation, runtime.store).runner.run("lung", predictor, actor="admin")
    task_id = client.get("/api/worklist", headers=people["alice"]).json()["tasks"][0]["id"]
    return client, people, int(task_id)


def _grown(geometry: dict[str, Any]) -> dict[str, Any]:
    """The draft's mask with one more row painted under it on its first slice."""
    key = str(geometry["key_slices"][0])
    mask = rle_decode(geometry["slices"][key]).copy()
    last = int(np.flatnonzero(mask.any(axis=1))[-1])
    mask[min(last + 1, mask.shape[0] - 1)] |= mask[last]
    return {**geometry, "slices": {**geometry["slices"], key: dict(rle_encode(mask))}}


def _drafts(client: TestClient, headers: Headers, task_id: int) -> dict[str, Any]:
    answer = client.get(f"/api/tasks/{task_id}/proposals", headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_settings_need_the_anchoring_acknowledgement_on_a_two_reader_project(api: Any) -> None:
    client, people, _task = api
    got = client.get("/api/projects/lung/assist", headers=people["admin"])
    assert got.status_code == 200 and got.json()["preannotation"] is False
    refused = client.put(
        "/api/projects/lung/assist", json={"preannotation": True}, headers=people["admin"]
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == "AnchoringNotAcknowledgedError"
    assert "anchoring_acknowledged" in refused.json()["detail"]
    bad = client.put("/api/projects/lung/assist", json={"drafts": True}, headers=people["admin"])
    assert bad.status_code == 400
    missing = client.put(
        "/api/projects/nope/assist", json={"preannotation": False}, headers=people["admin"]
    )
    assert missing.status_code == 404
    forbidden = client.put(
        "/api/projects/lung/assist", json={"preannotation": True}, headers=people["alice"]
    )
    assert forbidden.status_code == 403
    on = client.put(
        "/api/projects/lung/assist",
        json={"preannotation": True, "anchoring_acknowledged": True, "active_learning": True},
        headers=people["admin"],
    )
    assert on.status_code == 200 and on.json()["changed_by"] == "ada"


def test_drafts_flow_over_http(api: Any) -> None:
    client, people, task_id = api
    assert _drafts(client, people["alice"], task_id) == {
        "task_id": task_id,
        "enabled": False,
        "proposals": [],
    }
    client.put(
        "/api/projects/lung/assist",
        json={"preannotation": True, "anchoring_acknowledged": True},
        headers=people["admin"],
    )
    listed = _drafts(client, people["alice"], task_id)
    assert listed["enabled"] and len(listed["proposals"]) >= 2
    first, second = listed["proposals"][:2]
    assert first["status"] == "draft" and first["kind"] == "mask"
    assert first["model"]["name"] == "nodule-seg" and len(first["model"]["sha256"]) == 64
    assert first["geometry"]["key_slices"]

    accepted = client.post(
        f"/api/proposals/{first['id']}/accept", json={"confidence": 4}, headers=people["alice"]
    )
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["proposal"]["status"] == "accepted" and body["proposal"]["dice"] == 1.0
    assert body["annotation"]["reader"] == "alice" and body["annotation"]["confidence"] == 4
    again = client.post(f"/api/proposals/{first['id']}/accept", json={}, headers=people["alice"])
    assert again.status_code == 409 and again.json()["error"] == "ProposalResolvedError"
    bad_confidence = client.post(
        f"/api/proposals/{second['id']}/accept", json={"confidence": 9}, headers=people["alice"]
    )
    assert bad_confidence.status_code == 422  # the save's own rules apply

    # bob is blinded: alice's accept is invisible to him
    for_bob = _drafts(client, people["bob"], task_id)["proposals"]
    assert all(p["status"] == "draft" and p["resolutions"] == [] for p in for_bob)
    # eve is no reader of the task
    assert client.get(f"/api/tasks/{task_id}/proposals", headers=people["eve"]).status_code == 403
    assert (
        client.post(f"/api/proposals/{second['id']}/reject", json={}, headers=people["eve"])
    ).status_code == 403

    # edit: bob saves his own version of the draft, then links it
    saved = client.post(
        f"/api/tasks/{task_id}/annotations",
        json={"label": second["label"], "kind": "mask", "geometry": _grown(second["geometry"])},
        headers=people["bob"],
    )
    assert saved.status_code == 201, saved.text
    linked = client.post(
        f"/api/proposals/{second['id']}/edit",
        json={"annotation_id": saved.json()["annotation_id"]},
        headers=people["bob"],
    )
    assert linked.status_code == 200, linked.text
    edited = linked.json()["proposal"]
    assert edited["status"] == "edited" and 0.0 < edited["dice"] < 1.0
    stolen = client.post(
        f"/api/proposals/{first['id']}/edit",
        json={"annotation_id": body["annotation"]["annotation_id"]},
        headers=people["bob"],
    )
    assert stolen.status_code == 403  # alice's annotation is not bob's edit
    missing = client.post("/api/proposals/10000/reject", json={}, headers=people["bob"])
    assert missing.status_code == 404
    no_id = client.post(f"/api/proposals/{first['id']}/edit", json={}, headers=people["bob"])
    assert no_id.status_code == 400

    rejected = client.post(
        f"/api/proposals/{first['id']}/reject",
        json={"reason": "a vessel"},
        headers=people["bob"],
    )
    assert rejected.status_code == 200 and rejected.json()["proposal"]["reason"] == "a vessel"

    # the reviewer (blinding lifted for overseers) sees every reader's resolution
    for_rita = {p["id"]: p for p in _drafts(client, people["rita"], task_id)["proposals"]}
    assert {r["reader"] for r in for_rita[first["id"]]["resolutions"]} == {"alice", "bob"}

    tracking = client.get("/api/projects/lung/assist/tracking", headers=people["rita"])
    assert tracking.status_code == 200, tracking.text
    (model,) = tracking.json()["models"]
    assert model["decided"] == 3 and model["accepted"] + model["edited"] == 2
    assert model["rejected"] == 1
    assert (
        client.get("/api/projects/lung/assist/tracking", headers=people["alice"]).status_code == 403
    )


def test_runs_and_ranking_for_project_managers(api: Any) -> None:
    client, people, task_id = api
    runs = client.get("/api/projects/lung/assist/runs", headers=people["admin"])
    assert runs.status_code == 200
    (run,) = runs.json()["runs"]
    assert run["tasks_predicted"] == 1 and run["proposals"] >= 1
    assert run["model"]["name"] == "nodule-seg" and run["finished_at"]
    ranking = client.get("/api/projects/lung/assist/ranking", headers=people["admin"])
    assert ranking.status_code == 200
    (row,) = ranking.json()["tasks"]
    assert row["task_id"] == task_id and row["task_priority"] == 0  # active learning off
    assert 0.0 <= row["score"] <= 1.0 and row["priority"] == round(1000 * row["score"])
    assert (
        client.get("/api/projects/lung/assist/ranking", headers=people["rita"]).status_code == 403
    )
    assert client.get("/api/projects/nope/assist/runs", headers=people["admin"]).status_code == 404
