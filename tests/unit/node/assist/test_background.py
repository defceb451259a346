"""Background drafts: serve's thread hands unscored open tasks to a real learning service.

The learning service here is the real :class:`node.learn.service.LearningServer`
on the node's Unix socket, in a thread, serving ``assist`` with the real
:class:`node.assist.DraftWorker` (torch, the trained test U-Net); the model is
stored as ``model pull`` stores it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.annotate import ProjectSpec, SeriesQuery
from node.assist import BackgroundDrafts, DraftWorker, PulledVersion, model_for_project
from node.assist.catalog import pulled_versions
from node.assist.models import stored_model_path
from node.assist.worker import BACKGROUND_ACTOR
from node.learn.client import LearningClient
from node.learn.service import LearningServer
from shared.weights import weights_sha256
from tests.support.assist_model import train_segmenter
from tests.unit.node.assist.conftest import World


def _store(data_dir: Path, version: int, data: bytes, **record: object) -> Path:
    path = stored_model_path(data_dir, "nodule-seg", str(version))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    facts = {"name": "nodule-seg", "version": version, "sha256": weights_sha256(data)}
    path.with_suffix(".json").write_text(json.dumps({**facts, **record}))
    return path


@pytest.fixture
def service(world: World) -> Iterator[LearningClient]:
    data_dir = world.runtime.settings.data_dir
    worker = DraftWorker(data_dir, settings=world.runtime.settings)
    server = LearningServer(data_dir, {"assist": worker.run})
    server.bind()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LearningClient(data_dir, timeout_s=600)
    server.stop()
    thread.join(timeout=30)
    worker.close()


def test_the_newest_pulled_version_for_the_project_or_its_guideline_serves_it() -> None:
    def version(v: str, created: str, guideline: str = "g", project: str = "") -> PulledVersion:
        return PulledVersion("m", v, "ab" * 32, guideline, project, created, True)

    older, newer = version("1", "2026-01-01T00:00:00"), version("2", "2026-02-01T00:00:00")
    assert model_for_project([newer, older], "p", "g") == newer
    own = version("1", "2025-01-01T00:00:00", guideline="other", project="p")
    assert model_for_project([newer, own], "p", "g") == own  # trained on this very project
    assert model_for_project([newer], "p", "unrelated") is None


def test_only_complete_readable_records_are_listed(tmp_path: Path) -> None:
    data = b"not read here"
    _store(tmp_path, 1, data, guideline={"name": "g", "version": "1"}, project="p", plan={})
    orphan = stored_model_path(tmp_path, "nodule-seg", "2").with_suffix(".json")
    orphan.write_text(json.dumps({"name": "nodule-seg", "version": 2, "sha256": "00"}))
    broken = _store(tmp_path, 3, data).with_suffix(".json")
    broken.write_text("{not json")
    (listed,) = pulled_versions(tmp_path)
    assert (listed.key, listed.guideline, listed.project, listed.has_plan) == (
        "nodule-seg@1",
        "g",
        "p",
        True,
    )


def test_drafts_run_in_batches_for_projects_with_drafts_on_and_only_once(
    world: World, service: LearningClient
) -> None:
    data_dir = world.runtime.settings.data_dir
    guideline = {"name": world.guideline.name, "version": world.guideline.version}
    background = BackgroundDrafts(data_dir, world.assist.runner, batch=1)
    assert background.run_once() == []  # no model pulled yet
    _store(data_dir, 1, train_segmenter(), guideline=guideline)
    assert background.run_once() == []  # no project has drafts on
    world.assist.settings.configure("solo", actor="admin", preannotation=True)

    passes = background.run_once()
    assert [p.project for p in passes] == ["solo", "solo"]  # two open tasks, one per batch
    assert all(p.model == "nodule-seg@1" for p in passes)
    assert [p.summary["run"]["tasks_predicted"] for p in passes] == [1, 1]
    assert sum(p.summary["proposals"] for p in passes) >= 2
    runs = world.assist.scores.runs("solo")
    assert {r.started_by for r in runs} == {BACKGROUND_ACTOR}
    assert world.assist.scores.runs("pair") == []  # drafts off there
    assert background.run_once() == []  # every open task scored by this version

    # new open tasks (a new project over studies that arrived) get drafts at the next pass
    world.annotation.projects.create(
        ProjectSpec(
            name="later",
            guideline_name=world.guideline.name,
            guideline_version=world.guideline.version,
            query=SeriesQuery(modality="CT"),
            readers=("sam",),
            readers_per_task=1,
        ),
        created_by="admin",
    )
    world.assist.settings.configure("later", actor="admin", preannotation=True)
    background.batch = 16
    (later,) = background.run_once()
    assert later.project == "later" and later.summary["run"]["tasks_predicted"] == 2


def test_a_version_the_service_refuses_is_not_asked_again(
    world: World, service: LearningClient
) -> None:
    data_dir = world.runtime.settings.data_dir
    path = _store(
        data_dir, 2, train_segmenter(), guideline={"name": world.guideline.name, "version": "x"}
    )
    path.write_bytes(path.read_bytes() + b"tampered")  # no longer its recorded SHA-256
    world.assist.settings.configure("solo", actor="admin", preannotation=True)
    background = BackgroundDrafts(data_dir, world.assist.runner)
    assert background.run_once() == []
    ((project, _sha), message), *_ = background.refused.items()
    assert project == "solo" and message.startswith("the stored weights")
    assert background.run_once() == [] and world.assist.scores.runs("solo") == []
