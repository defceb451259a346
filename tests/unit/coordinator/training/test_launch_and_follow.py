"""A run's folder and record, the SuperLink probes, and following a run to its end.

Real files, a real SQLite registry and real sockets; what the ServerApp writes
into the run folder (progress lines, its result) is written by the test, since
the unit tier starts no Flower process (tests/integration/test_training_rounds.py
does).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coordinator.errors import NotFoundError, SuperLinkUnavailableError
from coordinator.models import RunStatus
from coordinator.runtime import CoordinatorRuntime
from coordinator.settings import CoordinatorSettings
from coordinator.superlink import FlowerPaths, write_connection
from coordinator.training import (
    PreparedRun,
    TrainingRequest,
    follow_run,
    launch_run,
    prepare_run,
    process_alive,
    run_owner,
    superlink_accepts,
    superlink_refuses,
)
from shared.schemas.training import TrainingPlan
from shared.weights import encode_weights
from tests.support.learn_sites import tiny_plan

PLAN = TrainingPlan.model_validate(tiny_plan())


def _connect(settings: CoordinatorSettings, port: int) -> Path:
    home = FlowerPaths.of(settings.data_dir).home
    write_connection(home, address=f"127.0.0.1:{port}", ca_certificate=Path("ca.pem"))
    return home


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port: int = listener.getsockname()[1]
    return port


def test_the_superlink_probes_tell_a_listening_port_from_a_stopped_one(
    coordinator_settings: CoordinatorSettings,
) -> None:
    home = FlowerPaths.of(coordinator_settings.data_dir).home
    assert not superlink_accepts(home) and superlink_refuses(home)  # no connection written
    with socket.create_server(("127.0.0.1", 0)) as listener:
        _connect(coordinator_settings, listener.getsockname()[1])
        assert superlink_accepts(home) and not superlink_refuses(home)
    _connect(coordinator_settings, _closed_port())
    assert not superlink_accepts(home) and superlink_refuses(home)


def test_a_prepared_run_has_its_folder_owner_and_record(
    coordinator_settings: CoordinatorSettings, coordinator: CoordinatorRuntime
) -> None:
    request = TrainingRequest(plan=PLAN, project="lesions", rounds=3, min_sites=2)
    with pytest.raises(SuperLinkUnavailableError, match="serve --flower"):
        prepare_run(coordinator_settings, coordinator.models, request, started_by="test")
    _connect(coordinator_settings, _closed_port())
    missing = TrainingRequest(plan=PLAN, project="lesions", rounds=1, from_model="nothing")
    with pytest.raises(NotFoundError):
        prepare_run(coordinator_settings, coordinator.models, missing, started_by="test")
    assert coordinator.models.runs() == []  # nothing recorded for a refused run

    prepared = prepare_run(coordinator_settings, coordinator.models, request, started_by="test")
    run = coordinator.models.run(prepared.run_id)
    assert run.status is RunStatus.RUNNING and run.rounds_requested == 3
    assert run.config["min-sites"] == 2 and run.config["expected-nodes"] == 0
    assert run.config["run-dir"] == str(prepared.run_dir)
    assert TrainingPlan.model_validate_json((prepared.run_dir / "plan.json").read_text()) == PLAN
    assert run_owner(run) == os.getpid() and process_alive(os.getpid())
    assert not (prepared.run_dir / "initial.weights").exists()  # built at launch

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert not process_alive(int(gone.stdout))


def _prepared(settings: CoordinatorSettings, runtime: CoordinatorRuntime, port: int) -> PreparedRun:
    _connect(settings, port)
    request = TrainingRequest(plan=PLAN, project="lesions", rounds=2)
    return prepare_run(settings, runtime.models, request, started_by="test")


def _entry(round_number: int) -> dict[str, Any]:
    return {
        "round": round_number,
        "answered": ["a"],
        "refused": {},
        "missing": [],
        "bytes": {"a": 10},
        "train_loss": 0.5,
        "aggregated": True,
        "evaluation_of_received": {"pooled": {"dice": 0.5, "count": 3}},
    }


def test_a_followed_run_records_each_round_and_registers_its_model(
    coordinator_settings: CoordinatorSettings, coordinator: CoordinatorRuntime
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        prepared = _prepared(coordinator_settings, coordinator, listener.getsockname()[1])
        run_dir = prepared.run_dir
        (run_dir / "progress.jsonl").write_text(
            "".join(json.dumps(_entry(r)) + "\n" for r in (1, 2))
        )
        (run_dir / "final.weights").write_bytes(encode_weights({"w": np.zeros(2, np.float32)}))
        (run_dir / "result.json").write_text(
            json.dumps(
                {
                    "status": "completed",
                    "rounds_completed": 2,
                    "guideline": ["lesions", "1"],
                    "sites": {
                        "a": {"epsilon": 1.0, "delta": 1e-5, "releases": 2, "mechanisms": []}
                    },
                    "history": [_entry(1), _entry(2)],
                    "weights_path": str(run_dir / "final.weights"),
                }
            )
        )
        shown: list[int] = []
        result = follow_run(
            coordinator.models, prepared, started=0.0, progress=lambda e: shown.append(e["round"])
        )
    assert shown == [1, 2] and result["model"] == {"name": "lesion-seg", "version": 1}
    run = coordinator.models.run(prepared.run_id)
    assert run.status is RunStatus.COMPLETED and run.rounds_completed == 2
    assert run.model_version == 1
    version = coordinator.models.get("lesion-seg", 1)
    assert version.plan["project"] == "lesions" and version.guideline == "lesions"
    assert [h["round"] for h in version.metrics["history"]] == [1, 2]


def test_a_run_whose_superlink_stopped_ends_interrupted_without_a_model(
    coordinator_settings: CoordinatorSettings, coordinator: CoordinatorRuntime
) -> None:
    prepared = _prepared(coordinator_settings, coordinator, _closed_port())
    (prepared.run_dir / "progress.jsonl").write_text(json.dumps(_entry(1)) + "\n")
    result = follow_run(coordinator.models, prepared, started=0.0, poll_s=0.01, grace_s=0.0)
    assert result["status"] == "interrupted" and result["rounds_completed"] == 1
    assert "SuperLink stopped after 1 round(s)" in result["message"]
    run = coordinator.models.run(prepared.run_id)
    assert run.status is RunStatus.INTERRUPTED and run.rounds_completed == 1
    assert coordinator.models.versions() == []


def test_a_stopped_follower_ends_the_run_interrupted(
    coordinator_settings: CoordinatorSettings, coordinator: CoordinatorRuntime
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        prepared = _prepared(coordinator_settings, coordinator, listener.getsockname()[1])
        stop = threading.Event()
        stop.set()
        result = follow_run(coordinator.models, prepared, started=0.0, stop=stop)
    assert result["status"] == "interrupted" and "coordinator stopped" in result["message"]
    assert coordinator.models.run(prepared.run_id).status is RunStatus.INTERRUPTED


def test_a_launch_cut_short_by_the_service_stopping_ends_interrupted(
    coordinator_settings: CoordinatorSettings, coordinator: CoordinatorRuntime
) -> None:
    prepared = _prepared(coordinator_settings, coordinator, _closed_port())
    stop = threading.Event()
    stop.set()  # the service shuts down while the child builds the initial model
    assert launch_run(prepared, coordinator.models, in_child=True, stop=stop) is None
    run = coordinator.models.run(prepared.run_id)
    assert run.status is RunStatus.INTERRUPTED and "did not start" in run.message
    assert not (prepared.run_dir / "initial.weights").exists()
