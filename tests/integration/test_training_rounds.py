"""Federated training on real processes: one coordinator and 3 enrolled nodes for every run.

One federation for the module (:func:`tests.support.federation.running_federation`):
the coordinator with its SuperLink behind the Fleet proxy (TLS, SuperNode
authentication) and 3 nodes, each with its SuperNode and persistent learning
service (which does the compute), filled with phantom lesions read by
simulated readers. The runs go in this order on it:

1. robust aggregation: east runs with the development-only fault injection
   ``HARMONIA_NODE_FAULT_CORRUPT_UPDATES=scale:1e6`` (every update it
   releases is its honest, clipped update times a million: a site that skips
   its clipping and sends garbage; a poisoned data set would also do, but its
   harm depends on the data and the DP noise; the clear-text path does not
   bound an update's norm on the coordinator). One round with ``fedavg``
   wrecks the global model; one round with ``fedmedian`` ignores east;
2. FedAvg with DP-SGD on every node and its training budget, updates released
   through each node's egress gate and ledgered, a node killed mid-round (east:
   the round completes with the others, or asks east again if its restart is
   back first; east is restarted, without the fault injection, and takes part
   in the next round), the model registered with its
   sites, privacy and metrics, and pulled by a node over mTLS;
3. SecAgg+: each clipped update released once through the node's egress gate
   (``model_update`` to the secure sum, charged) and masked (the protocol
   traffic ledgered as ``secure_aggregation``); the coordinator unmasks only
   the mean, which moves the model by at most the update clip norm per round;
4. last, since it restarts the coordinator: a 3-round run whose coordinator is
   killed (SIGKILL) and started again after round 1 ends ``interrupted`` with
   its rounds and no model version; the nodes rejoin, and the next run, one
   round started through the admin API (``POST /api/v1/training/runs``, as the
   dashboard starts it) and run by the serving coordinator in the background,
   is followed to its registered model; north pulls that model (its plan
   comes with it) and its serve drafts with it in the background on a new
   single-reader project.

East starts with the fault injection (the first run's), so in this order the
only restart is the one the DP run makes; a test run alone restarts east with
the settings it needs (:meth:`~tests.support.federation.Federation.use_settings`).
Every node's ledger holds all the runs' entries: a run's ledger assertions
look only at its own round ids (``<run id>.r<n>``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import create_engine

from coordinator.runtime import open_coordinator
from coordinator.settings import CoordinatorSettings
from node.egress import EgressLedger, Outcome
from shared.weights import decode_weights
from tests.support.federation import Federation, cli, environment, running_federation
from tests.support.learn_sites import PROJECT, default_recipes, prepare_learning_site, tiny_plan

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.heavy,
    pytest.mark.timeout(1500),
]

SITES = ("north", "south", "east")
PLAN = tiny_plan(learning_rate=0.01, update_clip_norm=10.0)
SECURE_PLAN = {**PLAN, "learning_rate": 0.05}
ROBUST_PLAN = tiny_plan()  # DP-SGD: the egress gate releases no model update without it
CORRUPT = {"HARMONIA_NODE_FAULT_CORRUPT_UPDATES": "scale:1e6"}


def _prepare(data_dir: Path, index: int) -> None:
    prepare_learning_site(data_dir, default_recipes()[index], cases=4)
    (data_dir / "training-policy.json").write_text(
        json.dumps({"epsilon": 200.0, "delta": 1e-2, "release_site_metrics": index != 2})
    )


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    root = tmp_path_factory.mktemp("training")
    with running_federation(root, SITES, prepare=_prepare, node_env={"east": CORRUPT}) as running:
        running.wait_ready()
        yield running


def _ledger(data_dir: Path, run_id: str) -> list[Any]:
    """The node's ledger entries of the run ``run_id`` (its round ids are ``<run id>.r<n>``)."""
    engine = create_engine(f"sqlite:///{data_dir / 'node.sqlite3'}")
    try:
        entries = EgressLedger(engine).entries()
    finally:
        engine.dispose()
    return [e for e in entries if e.round_id and e.round_id.startswith(f"{run_id}.r")]


def _wait_for(path: Path, text: str, after: int, timeout_s: float = 600) -> None:
    """Wait until ``text`` appears in ``path`` past its first ``after`` bytes."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if path.exists() and text in path.read_bytes()[after:].decode(errors="replace"):
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in {path}")


def _train(
    federation: Federation, tmp_path: Path, plan: dict[str, Any], *args: str
) -> dict[str, Any]:
    """``round train`` on the federation; its result (the command must succeed)."""
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(plan))
    trained = cli(
        "coordinator.cli",
        *("round", "train", "--data-dir", str(federation.coordinator_dir)),
        *("--plan", str(plan_path), "--project", PROJECT, "--wait-nodes", "60"),
        *("--reply-timeout", "400", *args),
        check=False,
        timeout_s=1200,
    )
    assert trained.returncode == 0, (
        f"{trained.stdout}\n{trained.stderr}\n{federation.diagnostics()}"
    )
    result: dict[str, Any] = json.loads(trained.stdout.strip().splitlines()[-1])
    return result


def _evaluate(
    federation: Federation, plan: dict[str, Any], weights_path: Path, sites: tuple[str, ...]
) -> tuple[float, float]:
    """The mean loss of the weights on ``sites``' validation consensus, and their largest value."""
    from node.learn.evaluation import evaluate_local  # torch: only in this test's process
    from shared.schemas.training import TrainingPlan

    parsed = TrainingPlan.model_validate(plan)
    arrays, _ = decode_weights(weights_path.read_bytes())
    weights = list(arrays.values())
    with np.errstate(all="ignore"):
        losses = [
            float(evaluate_local(federation.node_dirs[s], PROJECT, parsed, weights)["loss"])
            for s in sites
        ]
    largest = max(float(np.max(np.abs(a))) for a in weights)
    return math.fsum(losses) / len(losses), largest


def test_one_corrupted_site_wrecks_fedavg_but_not_the_median(
    federation: Federation, tmp_path: Path
) -> None:
    federation.use_settings("east", CORRUPT)  # as the federation started it
    results = {
        rule: _train(
            federation,
            tmp_path,
            ROBUST_PLAN,
            *("--rounds", "1", "--min-sites", "3", "--aggregation", rule),
        )
        for rule in ("fedavg", "fedmedian")
    }
    for rule, result in results.items():
        assert result["status"] == "completed" and result["aggregation"] == rule
        assert result["history"][0]["answered"] == sorted(SITES)
    honest = ("north", "south")
    run_dir = Path(results["fedavg"]["weights_path"]).parent
    initial_loss, _ = _evaluate(federation, ROBUST_PLAN, run_dir / "initial.weights", honest)
    wrecked = _evaluate(federation, ROBUST_PLAN, Path(results["fedavg"]["weights_path"]), honest)
    robust = _evaluate(federation, ROBUST_PLAN, Path(results["fedmedian"]["weights_path"]), honest)

    # FedAvg: east's update dominates the mean; the model is destroyed
    wrecked_loss, wrecked_largest = wrecked
    assert wrecked_largest > 1e4, wrecked
    assert not math.isfinite(wrecked_loss) or wrecked_loss > 10 * initial_loss, wrecked
    # the median: weights of honest size, a loss of the untrained model's order (DP-noised)
    robust_loss, robust_largest = robust
    assert robust_largest < 100, robust
    assert math.isfinite(robust_loss) and robust_loss < 2 * initial_loss, (initial_loss, robust)


def test_three_nodes_train_with_dp_and_a_node_killed_mid_round(
    federation: Federation, tmp_path: Path
) -> None:
    federation.wait_ready()
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(PLAN))
    service_log = federation.node_dirs["east"] / "learn" / "service.log"
    logged = service_log.stat().st_size if service_log.exists() else 0
    command = subprocess.Popen(
        [
            *(sys.executable, "-m", "coordinator.cli", "round", "train"),
            *("--data-dir", str(federation.coordinator_dir), "--plan", str(plan_path)),
            *("--project", PROJECT, "--rounds", "2", "--min-sites", "2"),
            *("--wait-nodes", "60", "--rejoin-wait", "90", "--reply-timeout", "240"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    try:
        # kill east while its learning service trains round 1, then bring it back
        _wait_for(service_log, "train request", logged)
        os.kill(federation.nodes["east"].pid, signal.SIGKILL)
        federation.nodes["east"].wait(timeout=30)
        federation.start_node("east", {})  # without the robust run's fault injection
        out, err = command.communicate(timeout=1200)
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == 0, f"{out}\n{err}\n{federation.diagnostics()}"
    result = json.loads(out.strip().splitlines()[-1])
    first, second = result["history"]
    # Round 1 completes without the killed east, unless east came back before it ended: its
    # restarted SuperNode deactivates the dead one's registration, the SuperLink answers the
    # pending message "node unavailable", and the coordinator asks east again once it is back.
    if "east" in first["answered"]:
        assert first["asked_again"] == ["east"] and first["missing"] == [], first
        assert "round 1: answered east, north, south; asked again after rejoining east" in err
    else:
        assert first["answered"] == ["north", "south"] and first["missing"] == ["east"]
        assert "round 1: answered north, south; missing east" in err
    # a round pushed to east's dead registration before the restart replaced it reaches the
    # restarted east the same way
    assert second["answered"] == ["east", "north", "south"], (second, err)
    assert result["rounds_completed"] == 2 and result["status"] == "completed"
    for site in ("north", "south"):
        assert all(c["epsilon"] > 0 for c in second["privacy"][site])
    # per-site figures only where the site's policy releases them
    final = result["final_evaluation"]
    assert set(final["sites"]) == {"north", "south"} and final["withheld"] == ["east"]
    assert "count" in final["pooled"] and "dice" in final["sites"]["north"]

    settings = CoordinatorSettings(data_dir=federation.coordinator_dir, fsync=False)
    with open_coordinator(settings) as runtime:
        version = runtime.models.get("lesion-seg", result["model"]["version"])
        run = runtime.models.run(result["run_id"])
    assert version.sites == ("east", "north", "south")
    assert version.guideline == "lesion-seg"
    assert version.privacy["north"]["epsilon"] > 0 and version.privacy["north"]["releases"] >= 2
    assert "count" in version.metrics["final"]  # noised sums: any sign at this tiny scale
    assert run.status.value == "completed" and run.rounds_completed == 2
    assert run.model_version == version.version

    east_rounds = 2 if "east" in first["answered"] else 1
    for site, rounds in (("north", 2), ("south", 2), ("east", east_rounds)):
        updates = [
            e
            for e in _ledger(federation.node_dirs[site], result["run_id"])
            if e.kind == "model_update" and e.outcome == Outcome.RELEASED
        ]
        assert len({e.round_id for e in updates}) >= rounds, site
        assert all(e.epsilon and e.epsilon > 0 for e in updates)
        assert all(e.mechanism and e.mechanism.startswith("dpsgd-") for e in updates)
    sent = {r: sum(b for b in e["bytes"].values()) for r, e in enumerate(result["history"])}
    assert all(v > 0 for v in sent.values())

    # the node pulls the registered global model over mTLS, verified by SHA-256
    pulled = cli("node.cli", "model", "pull", "--data-dir", str(federation.node_dirs["north"]))
    facts = json.loads(pulled.stdout)
    assert facts["sha256"] == version.weights_sha256 and facts["downloaded"] is True
    assert hashlib.sha256(Path(facts["path"]).read_bytes()).hexdigest() == version.weights_sha256
    again = json.loads(
        cli("node.cli", "model", "pull", "--data-dir", str(federation.node_dirs["north"])).stdout
    )
    assert again["downloaded"] is False


def test_three_nodes_train_under_secagg_with_dp(federation: Federation, tmp_path: Path) -> None:
    federation.use_settings("east", {})  # honest (the DP run restarted it so)
    federation.wait_ready()
    result = _train(
        federation,
        tmp_path,
        SECURE_PLAN,
        *("--rounds", "2", "--min-sites", "3", "--secure-aggregation"),
    )
    assert result["status"] == "completed" and result["rounds_completed"] == 2
    assert result["secure_aggregation"] is True and result["weighting"] == "equal"
    for entry in result["history"]:
        secure = entry["secure"]
        assert secure["survivors"] == sorted(SITES) and entry["answered"] == sorted(SITES)
        assert secure["parameters"]["clipping_range"] == PLAN["update_clip_norm"]
        assert 0 < secure["quantization_error_bound"] < 1e-4
        assert secure["threshold"] >= 2
        # the coordinator learned receipts and charges, no per-site figure of the update
        assert entry["examples"] == {} and entry["train_loss"] is None
        for site in SITES:
            (charge,) = entry["privacy"][site]
            assert charge["epsilon"] > 0 and charge["mechanism"].startswith("dpsgd-")
    run_dir = Path(result["weights_path"]).parent
    assert sorted(p.name for p in run_dir.glob("*.weights")) == [
        "final.weights",
        "initial.weights",
        "round-1.weights",
        "round-2.weights",
    ]

    settings = CoordinatorSettings(data_dir=federation.coordinator_dir, fsync=False)
    with open_coordinator(settings) as runtime:
        version = runtime.models.get("lesion-seg", result["model"]["version"])
        run = runtime.models.run(result["run_id"])
    assert version.sites == tuple(sorted(SITES)) and version.guideline == "lesion-seg"
    assert all(version.privacy[s]["epsilon"] > 0 for s in SITES)
    assert run.status.value == "completed" and run.model_version == version.version

    for site in SITES:
        entries = [
            e
            for e in _ledger(federation.node_dirs[site], result["run_id"])
            if e.outcome == Outcome.RELEASED
        ]
        updates = [e for e in entries if e.kind == "model_update"]
        # one charged release per round, to the secure sum
        assert len(updates) == 2 and len({e.round_id for e in updates}) == 2, site
        assert all(e.destination == "superlink/secure-sum" for e in updates)
        assert all(e.epsilon and e.epsilon > 0 for e in updates)
        protocol = [e for e in entries if e.kind == "secure_aggregation"]
        assert {e.round_id for e in protocol} == {e.round_id for e in updates}
        assert all(e.epsilon is None for e in protocol)
        assert not [
            e
            for e in entries
            if e.kind == "evaluation_metrics" and e.round_id in {u.round_id for u in updates}
        ]

    # the final model moved from the initial weights by the unmasked mean updates: each site's
    # update is clipped to update_clip_norm, so each round moves it by at most that much. (Its
    # validation loss is printed, not judged: two DP-SGD rounds on four cases per site move the
    # loss by less than their noise, either way; the exact mean is checked in
    # tests/unit/coordinator/serverapp/test_training_secure.py.)
    initial, _ = decode_weights((run_dir / "initial.weights").read_bytes())
    final, _ = decode_weights((run_dir / "final.weights").read_bytes())
    moved = math.sqrt(
        math.fsum(float(np.sum((final[k] - initial[k]) ** 2, dtype=np.float64)) for k in initial)
    )
    assert 0 < moved <= 2 * SECURE_PLAN["update_clip_norm"] * (1 + 1e-4), moved
    before, _ = _evaluate(federation, SECURE_PLAN, run_dir / "initial.weights", SITES)
    after, _ = _evaluate(federation, SECURE_PLAN, run_dir / "final.weights", SITES)
    assert math.isfinite(before) and math.isfinite(after), (before, after)
    print(f"validation loss: initial {before:.4f}, after 2 secure DP rounds {after:.4f}")


def _admin_api(federation: Federation) -> httpx.Client:
    """A coordinator-admin client of the federation's admin API (a token made for it)."""
    log = (federation.logs / "coordinator.log").read_text(errors="replace")
    found = re.findall(r"admin API:\s+(http://127\.0\.0\.1:\d+)/api/v1", log)
    assert found, log
    created = cli(
        "coordinator.cli",
        *("token", "create", "--user", "trainer", "--role", "coordinator-admin"),
        *("--data-dir", str(federation.coordinator_dir)),
    )
    token = re.search(r"hca_\S+", created.stdout)
    assert token is not None, created.stdout
    return httpx.Client(
        base_url=found[-1],  # a restarted coordinator's
        headers={"Authorization": f"Bearer {token.group(0)}"},
        timeout=120,
    )


def _train_through_the_admin_api(federation: Federation) -> dict[str, Any]:
    """One round, started as the dashboard starts it; the service runs it in the background.

    The run's record once it completed with every site, registered as a model version.
    """
    body = {
        "plan": PLAN,
        "project": PROJECT,
        "rounds": 1,
        "min_sites": 3,
        "wait_nodes_s": 60,
        "reply_timeout_s": 400,
    }
    with _admin_api(federation) as api:
        refused = api.post(
            "/api/v1/training/runs",
            json={**body, "aggregation": "krum", "secure_aggregation": True},
        )
        assert refused.status_code == 422 and "individual update" in refused.json()["detail"]
        started = api.post("/api/v1/training/runs", json=body)
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        # one run at a time (this one builds its model and reaches three nodes first)
        busy = api.post("/api/v1/training/runs", json=body)
        assert busy.status_code == 409 and busy.json()["error"] == "TrainingRunActiveError"
        end = time.monotonic() + 1200
        while (run := api.get(f"/api/v1/training/runs/{run_id}").json())["status"] == "running":
            assert time.monotonic() < end, f"{run}\n{federation.diagnostics()}"
            time.sleep(1)
        assert run["status"] == "completed", f"{run}\n{federation.diagnostics()}"
        assert api.get("/api/v1/training/runs").json()["in_progress"] is None
    (entry,) = run["history"]
    assert entry["answered"] == sorted(SITES) and entry["missing"] == []
    assert sum(entry["bytes"].values()) > 0 and entry["train_loss"] is not None
    assert run["rounds_completed"] == 1 and run["model_version"] is not None
    settings = CoordinatorSettings(data_dir=federation.coordinator_dir, fsync=False)
    with open_coordinator(settings) as runtime:
        version = runtime.models.get("lesion-seg", run["model_version"])
    assert version.run_id == run_id and version.sites == tuple(sorted(SITES))
    for site in SITES:
        updates = [
            e
            for e in _ledger(federation.node_dirs[site], run_id)
            if e.kind == "model_update" and e.outcome == Outcome.RELEASED
        ]
        assert len(updates) == 1 and updates[0].epsilon and updates[0].epsilon > 0, site
    return dict(run)


def test_a_coordinator_restarted_mid_run_ends_the_run_interrupted(
    federation: Federation, tmp_path: Path
) -> None:
    """Last in the module: it kills and restarts the coordinator (its SuperLink with it)."""
    federation.use_settings("east", {})
    federation.wait_ready()
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(PLAN))
    runs = federation.coordinator_dir / "flower" / "runs"
    before = set(runs.iterdir()) if runs.exists() else set()
    command = subprocess.Popen(
        [
            *(sys.executable, "-m", "coordinator.cli", "round", "train"),
            *("--data-dir", str(federation.coordinator_dir), "--plan", str(plan_path)),
            *("--project", PROJECT, "--rounds", "3", "--min-sites", "2"),
            *("--wait-nodes", "60", "--reply-timeout", "240"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    try:
        end = time.monotonic() + 600
        while not (new := set(runs.iterdir()) - before if runs.exists() else set()):
            assert command.poll() is None and time.monotonic() < end, command.communicate()
            time.sleep(0.2)
        (run_dir,) = new
        _wait_for(run_dir / "progress.jsonl", '"round": 1', 0)
        federation.restart_coordinator()  # SIGKILL once round 1 has completed
        out, err = command.communicate(timeout=600)
    finally:
        if command.poll() is None:
            command.kill()
    # the command ends, non-zero, saying why
    assert command.returncode != 0, f"{out}\n{err}\n{federation.diagnostics()}"
    result = json.loads(out.strip().splitlines()[-1])
    assert result["status"] == "interrupted", result
    assert f"training run {result['run_id']} ended interrupted" in err
    assert "SuperLink stopped" in result["message"], result
    completed = result["rounds_completed"]
    assert 1 <= completed < 3, result
    # recorded interrupted with the rounds it completed; no model version for it
    settings = CoordinatorSettings(data_dir=federation.coordinator_dir, fsync=False)
    with open_coordinator(settings) as runtime:
        run = runtime.models.run(result["run_id"])
        versions = runtime.models.versions()
    assert run.status.value == "interrupted" and run.ended_at is not None
    assert run.rounds_completed == completed and run.model_version is None
    assert run.message == result["message"]
    assert result["run_id"] not in {v.run_id for v in versions}
    assert (run_dir / "round-1.weights").exists() and not (run_dir / "final.weights").exists()

    # the nodes rejoin the restarted coordinator, and the next run, started through the admin
    # API as the dashboard starts it, completes with all three and registers its model
    federation.wait_ready()
    after = _train_through_the_admin_api(federation)

    # the pulled version carries its plan, and north's serve drafts with it in the background
    north = federation.node_dirs["north"]
    pulled = json.loads(cli("node.cli", "model", "pull", "--data-dir", str(north)).stdout)
    assert pulled["version"] == after["model_version"] and pulled["plan"]["name"] == "lesion-seg"
    record = json.loads(Path(pulled["path"]).with_suffix(".json").read_text())
    assert record["plan"] == pulled["plan"] and record["project"] == PROJECT
    _expect_background_drafts(north, f"lesion-seg@{pulled['version']}", pulled["sha256"])


def _expect_background_drafts(data_dir: Path, model: str, sha256: str) -> None:
    """A single-reader project over the node's studies gets the pulled model's drafts from serve.

    The node's ``serve`` (background drafts on by default) finds the project's open tasks
    unscored by the newest pulled version and has its learning service predict them.
    """
    from node.annotate import AnnotationService, ProjectSpec, SeriesQuery
    from node.assist import AssistService
    from node.assist.worker import BACKGROUND_ACTOR
    from node.runtime import open_node
    from node.settings import NodeSettings

    settings = NodeSettings(data_dir=data_dir, fsync=False, ingest_workers=0)
    with open_node(settings) as runtime:  # beside the serving node, as the CLI does
        AnnotationService(runtime.engine, runtime.store, audit=runtime.audit).projects.create(
            ProjectSpec(
                name="drafts",
                guideline_name="lesion-seg",
                guideline_version="1",
                query=SeriesQuery(modality="CT"),
                readers=("sam",),
                readers_per_task=1,
            ),
            created_by="admin",
        )
    on = cli("node.cli", "assist", "settings", "--data-dir", str(data_dir), "--project", "drafts")
    assert "drafts off" in on.stdout  # nothing runs before a project manager turns them on
    cli(
        "node.cli",
        *("assist", "settings", "--data-dir", str(data_dir), "--project", "drafts"),
        *("--preannotation", "on"),
    )
    end = time.monotonic() + 600
    while True:
        with open_node(settings) as runtime:
            runs = AssistService(runtime.annotation, runtime.store).scores.runs("drafts")
        predicted = sum(r.tasks_predicted for r in runs)
        if predicted >= 4:  # the project's 4 open tasks (one per study)
            break
        assert time.monotonic() < end, f"background drafts never ran: {runs}"
        time.sleep(1)
    assert {r.started_by for r in runs} == {BACKGROUND_ACTOR}
    assert {r.model.key for r in runs} == {model} and {r.model.sha256 for r in runs} == {sha256}
    assert predicted == 4 and all(r.finished_at is not None for r in runs)
