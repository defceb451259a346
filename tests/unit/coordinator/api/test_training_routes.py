"""The training-run routes: start a run, list runs, follow one; every refusal a specific 4xx.

A real coordinator (SQLite file, registry, weight store) serves the app. The
coordinator's SuperLink is a real listening socket named in ``FLWR_HOME`` as
``serve --flower`` names it; the one part replaced is what the ServerApp does
(the unit tier starts no Flower process): the test's executor writes the
progress lines and the result the ServerApp writes, and the service's real
follower reads them into the registry. The integration test
(``tests/integration/test_training_rounds.py``) starts a run through this API
on real Flower processes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from coordinator.api import create_app
from coordinator.auth import Role
from coordinator.models import ModelRegistry, RunStatus
from coordinator.runtime import CoordinatorRuntime, open_coordinator
from coordinator.settings import CoordinatorSettings
from coordinator.superlink import FlowerPaths, write_connection
from coordinator.training import PreparedRun, TrainingService, follow_run
from shared.schemas import Guideline
from shared.weights import encode_weights
from tests.support.learn_sites import tiny_plan
from tests.unit.coordinator.conftest import auth, token_for

PLAN = tiny_plan()


def _entry(round_number: int) -> dict[str, Any]:
    return {
        "round": round_number,
        "answered": ["hospital-a", "hospital-b"],
        "refused": [],
        "missing": ["hospital-c"],
        "aggregated": True,
        "train_loss": 0.5 / round_number,
        "evaluation_of_received": {"pooled": {"dice": 0.2 * round_number, "count": 8}},
        "bytes": {"hospital-a": 1000, "hospital-b": 1200},
        "wall_s": 1.5,
    }


class ServerAppStandIn:
    """Writes what the ServerApp writes into the run folder, round by round, on cue."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry
        self.next_round = threading.Event()
        self.finish = threading.Event()
        self.prepared: PreparedRun | None = None
        self.rounds = 0

    def __call__(self, prepared: PreparedRun, stop: threading.Event) -> None:
        self.prepared = prepared
        run_dir = prepared.run_dir
        # the service records the run and follows the real files; only Flower's part is here
        writer = threading.Thread(target=self._write, args=(run_dir, stop), daemon=True)
        writer.start()
        follow_run(self.registry, prepared, started=0.0, stop=stop, poll_s=0.02)
        writer.join(5)

    def _write(self, run_dir: Path, stop: threading.Event) -> None:
        with (run_dir / "progress.jsonl").open("a", encoding="utf-8") as progress:
            while not stop.is_set():
                if self.next_round.wait(0.02):
                    self.next_round.clear()
                    self.rounds += 1
                    progress.write(json.dumps(_entry(self.rounds)) + "\n")
                    progress.flush()
                if self.finish.is_set():
                    break
        if not self.finish.is_set():
            return
        weights = run_dir / "final.weights"
        weights.write_bytes(encode_weights({"w": np.ones(3, dtype=np.float32)}))
        result = {
            "run_id": run_dir.name,
            "status": "completed",
            "rounds_completed": self.rounds,
            "guideline": ["lesion-seg", "1"],
            "aggregation": "fedavg",
            "sites": {
                "hospital-a": {"epsilon": 1.0, "delta": 1e-5, "releases": 1, "mechanisms": []},
            },
            "final_evaluation": {"pooled": {"dice": 0.4}, "sites": {}, "withheld": []},
            "history": [_entry(r) for r in range(1, self.rounds + 1)],
            "weights_path": str(weights),
        }
        (run_dir / "result.json").write_text(json.dumps(result), encoding="utf-8")


@pytest.fixture
def superlink(tmp_path: Path) -> Iterator[socket.socket]:
    """A listening socket where the SuperLink would be."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener


def _flower_settings(tmp_path: Path, superlink: socket.socket) -> CoordinatorSettings:
    settings = CoordinatorSettings(
        data_dir=tmp_path / "flower-coordinator", fsync=False, flower=True
    )
    port = superlink.getsockname()[1]
    write_connection(
        FlowerPaths.of(settings.data_dir).home,
        address=f"127.0.0.1:{port}",
        ca_certificate=tmp_path / "ca.pem",
    )
    return settings


@pytest.fixture
def flower(
    tmp_path: Path, superlink: socket.socket
) -> Iterator[tuple[TestClient, CoordinatorRuntime, ServerAppStandIn, dict[str, str]]]:
    settings = _flower_settings(tmp_path, superlink)
    with open_coordinator(settings) as runtime:
        stand_in = ServerAppStandIn(runtime.models)
        app: FastAPI = create_app(settings, runtime=runtime)
        app.state.training = TrainingService(settings, runtime.models, executor=stand_in)
        with TestClient(app) as client:  # its lifespan: the shutdown closes the service
            yield client, runtime, stand_in, auth(token_for(runtime, Role.COORDINATOR_ADMIN))


def _body(**overrides: Any) -> dict[str, Any]:
    return {"plan": PLAN, "project": "lesions", "rounds": 2, **overrides}


def _wait_run(
    client: TestClient, headers: dict[str, str], run_id: str, done: Callable[[Any], bool]
) -> Any:
    """The run once ``done(run)`` holds (a generous deadline: the machine is shared)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = client.get(f"/api/v1/training/runs/{run_id}", headers=headers).json()
        if done(run):
            return run
        time.sleep(0.01)
    raise AssertionError(f"run {run_id} never got there: {run}")


def _wait_rounds(client: TestClient, headers: dict[str, str], run_id: str, rounds: int) -> Any:
    return _wait_run(client, headers, run_id, lambda run: run["rounds_completed"] >= rounds)


def test_an_admin_starts_a_run_and_follows_it_round_by_round(flower: Any) -> None:
    client, runtime, stand_in, headers = flower
    started = client.post("/api/v1/training/runs", json=_body(min_sites=2), headers=headers)
    assert started.status_code == 202, started.text
    run = started.json()
    run_id = run["run_id"]
    assert started.headers["location"] == f"/api/v1/training/runs/{run_id}"
    assert run["status"] == "running" and run["rounds_requested"] == 2
    assert run["config"]["min-sites"] == 2 and run["config"]["project"] == "lesions"
    run_dir = Path(run["config"]["run-dir"])
    assert json.loads((run_dir / "plan.json").read_text())["name"] == "lesion-seg"
    assert json.loads((run_dir / "owner.json").read_text())["pid"] == os.getpid()

    listing = client.get("/api/v1/training/runs", headers=headers).json()
    assert listing["in_progress"] == run_id

    # one run at a time
    again = client.post("/api/v1/training/runs", json=_body(), headers=headers)
    assert again.status_code == 409 and again.json()["error"] == "TrainingRunActiveError"
    assert run_id in again.json()["detail"]

    stand_in.next_round.set()
    first = _wait_rounds(client, headers, run_id, 1)
    assert first["status"] == "running"
    assert first["history"][0]["missing"] == ["hospital-c"]
    assert first["history"][0]["evaluation_of_received"]["pooled"]["dice"] == 0.2
    stand_in.next_round.set()
    _wait_rounds(client, headers, run_id, 2)
    stand_in.finish.set()
    done = _wait_run(client, headers, run_id, lambda run: run["status"] != "running")
    assert done["status"] == "completed" and done["model_version"] == 1, done
    version = runtime.models.get("lesion-seg", 1)
    assert version.run_id == run_id and version.sites == ("hospital-a",)
    assert client.get("/api/v1/training/runs", headers=headers).json()["in_progress"] is None


def test_a_run_in_progress_ends_interrupted_when_the_service_stops(
    tmp_path: Path, superlink: socket.socket
) -> None:
    settings = _flower_settings(tmp_path, superlink)
    with open_coordinator(settings) as runtime:
        stand_in = ServerAppStandIn(runtime.models)
        app = create_app(settings, runtime=runtime)
        app.state.training = TrainingService(settings, runtime.models, executor=stand_in)
        headers = auth(token_for(runtime, Role.COORDINATOR_ADMIN))
        with TestClient(app) as client:
            run_id = client.post("/api/v1/training/runs", json=_body(), headers=headers).json()[
                "run_id"
            ]
            stand_in.next_round.set()
            _wait_rounds(client, headers, run_id, 1)
        # the app's lifespan ended: the run is recorded interrupted, never left running
        run = runtime.models.run(run_id)
        assert run.status is RunStatus.INTERRUPTED and run.ended_at is not None
        assert run.rounds_completed == 1 and "coordinator stopped after 1 round(s)" in run.message
        assert runtime.models.versions() == []


def test_refusals_are_specific(flower: Any, coordinator: CoordinatorRuntime) -> None:
    client, runtime, _stand_in, headers = flower

    def refused(body: dict[str, Any], status: int, error: str, words: str) -> None:
        answer = client.post("/api/v1/training/runs", json=body, headers=headers)
        assert answer.status_code == status, answer.text
        assert answer.json()["error"] == error, answer.text
        assert words in answer.json()["detail"], answer.text

    refused(_body(plan={**PLAN, "task": "regression"}), 422, "TrainingPlanSchemaError", "task")
    refused(
        _body(plan={**PLAN, "learning_rate": -1}), 422, "TrainingPlanSchemaError", "learning_rate"
    )
    refused(
        {**_body(), "guideline": {"name": "g", "plan": "p"}}, 422, "TrainingRequestError", "one of"
    )
    refused({"project": "lesions", "rounds": 1}, 422, "TrainingRequestError", "one of")
    refused(
        _body(aggregation="krum", secure_aggregation=True),
        422,
        "TrainingRequestError",
        "individual update",
    )
    refused(
        _body(
            plan={k: v for k, v in PLAN.items() if k != "update_clip_norm"}, secure_aggregation=True
        ),
        422,
        "TrainingRequestError",
        "update_clip_norm",
    )
    refused(_body(rounds=0), 422, "TrainingRequestError", "at least 1")
    refused(_body(trim_fraction=0.7), 422, "TrainingRequestError", "[0, 0.5)")
    refused(_body(from_model="seg:latest"), 422, "TrainingRequestError", "NAME:VERSION")
    refused(_body(from_model="nothing:3"), 404, "NotFoundError", "nothing")
    refused(_body(aggregation="mean"), 400, "InvalidRequest", "aggregation")
    refused(_body(surprise=True), 400, "InvalidRequest", "surprise")
    refused(
        {**_body(plan=None), "guideline": {"name": "lesions", "plan": "lesion-seg"}},
        422,
        "TrainingRequestError",
        "no published guideline",
    )
    viewer = auth(token_for(runtime, Role.VIEWER, "vera"))
    denied = client.post("/api/v1/training/runs", json=_body(), headers=viewer)
    assert denied.status_code == 403 and denied.json()["error"] == "PermissionDeniedError"
    assert runtime.models.runs() == []  # nothing refused was recorded

    # without --flower: 409, saying how to start it
    plain = TestClient(create_app(coordinator.settings, runtime=coordinator))
    admin = auth(token_for(coordinator, Role.COORDINATOR_ADMIN))
    answer = plain.post("/api/v1/training/runs", json=_body(), headers=admin)
    assert answer.status_code == 409 and answer.json()["error"] == "SuperLinkUnavailableError"
    assert "serve --flower" in answer.json()["detail"]


def test_a_stopped_superlink_is_refused(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        settings = _flower_settings(tmp_path, listener)
    # the port no longer listens: the SuperLink is down (restarting)
    with open_coordinator(settings) as runtime:
        client = TestClient(create_app(settings, runtime=runtime))
        headers = auth(token_for(runtime, Role.COORDINATOR_ADMIN))
        answer = client.post("/api/v1/training/runs", json=_body(), headers=headers)
        assert answer.status_code == 409 and answer.json()["error"] == "SuperLinkUnavailableError"
        assert "does not accept connections" in answer.json()["detail"]
        assert runtime.models.runs() == []


def test_the_plan_can_come_from_a_published_guideline(flower: Any) -> None:
    client, runtime, _stand_in, headers = flower
    guideline = Guideline.model_validate(
        {
            "name": "lesions",
            "version": "1",
            "title": "Lesions",
            "labels": [{"name": "lesion", "kind": "mask", "definition": "a phantom lesion"}],
            "training_plans": [PLAN],
        }
    )
    runtime.guidelines.publish(guideline, published_by="editor")
    missing = client.post(
        "/api/v1/training/runs",
        json={**_body(plan=None), "guideline": {"name": "lesions", "plan": "other"}},
        headers=headers,
    )
    assert missing.status_code == 422 and "declares: lesion-seg" in missing.json()["detail"]
    absent = client.post(
        "/api/v1/training/runs",
        json={**_body(plan=None), "guideline": {"name": "lesions", "version": "9", "plan": "x"}},
        headers=headers,
    )
    assert absent.status_code == 404
    started = client.post(
        "/api/v1/training/runs",
        json={
            **_body(plan=None, compression="fp16"),
            "guideline": {"name": "lesions", "plan": "lesion-seg"},
        },
        headers=headers,
    )
    assert started.status_code == 202, started.text
    assert started.json()["plan"]["name"] == "lesion-seg"
    assert started.json()["plan"]["compression"] == "fp16"


def test_a_run_whose_process_is_gone_does_not_block_the_next(flower: Any) -> None:
    client, runtime, _stand_in, headers = flower
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    run_dir = runtime.settings.data_dir / "flower" / "runs" / "old"
    run_dir.mkdir(parents=True)
    (run_dir / "owner.json").write_text(json.dumps({"pid": int(gone.stdout), "started_by": "x"}))
    runtime.models.start_run(
        "old", model="lesion-seg", plan=PLAN, config={"run-dir": str(run_dir)}, rounds=3
    )
    listing = client.get("/api/v1/training/runs", headers=headers).json()
    assert listing["in_progress"] is None
    old = runtime.models.run("old")
    assert old.status is RunStatus.INTERRUPTED and "is gone" in old.message
    started = client.post("/api/v1/training/runs", json=_body(), headers=headers)
    assert started.status_code == 202, started.text
