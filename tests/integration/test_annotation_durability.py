"""A saved annotation survives kill -9 of the node right after the save returns."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from node.annotate import ProjectSpec, SeriesQuery
from node.auth import Role
from node.runtime import open_node
from node.settings import NodeSettings
from shared.schemas import load_guideline
from tests.support.node_process import running_node
from tests.unit.node.annotate.conftest import EXAMPLE, ingest_phantom

pytestmark = pytest.mark.integration


def _prepare(data_dir: Path) -> tuple[str, int]:
    with open_node(NodeSettings(data_dir=data_dir, fsync=False)) as runtime:
        ingest_phantom(runtime)
        alice = runtime.users.create("alice", None, Role.ANNOTATOR)
        runtime.users.create("bob", None, Role.ANNOTATOR)
        token = runtime.tokens.issue("alice-token", [], user_id=alice.id).token
        guideline = load_guideline(EXAMPLE)
        runtime.annotation.guidelines.load(guideline, loaded_by="setup")
        runtime.annotation.projects.create(
            ProjectSpec(
                name="lung",
                guideline_name=guideline.name,
                guideline_version=guideline.version,
                query=SeriesQuery(modality="CT"),
                readers=("alice", "bob"),
                readers_per_task=2,
            ),
            created_by="setup",
        )
        task_id = runtime.annotation.tasks.worklist("alice").items[0].task.id
    return token, task_id


def test_annotation_survives_kill_9_right_after_201(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    token, task_id = _prepare(data_dir)
    headers = {"Authorization": f"Bearer {token}"}
    payload = {
        "label": "nodule-box",
        "kind": "box",
        "confidence": 4,
        "geometry": {"slice": 2, "x0": 10.5, "y0": 20, "x1": 40, "y1": 50},
    }
    with running_node(data_dir) as node:
        saved = httpx.post(
            f"{node.url}/api/tasks/{task_id}/annotations", json=payload, headers=headers, timeout=30
        )
        node.kill9()
    assert saved.status_code == 201, saved.text
    annotation_id = saved.json()["annotation_id"]
    with running_node(data_dir) as node:
        history = httpx.get(
            f"{node.url}/api/annotations/{annotation_id}/revisions", headers=headers, timeout=30
        )
        task = httpx.get(f"{node.url}/api/tasks/{task_id}", headers=headers, timeout=30)
    assert history.status_code == 200, history.text
    revisions = history.json()["revisions"]
    assert [r["revision"] for r in revisions] == [1]
    assert revisions[0]["payload"]["geometry"] == payload["geometry"]
    assert [a["annotation_id"] for a in task.json()["annotations"]] == [annotation_id]
