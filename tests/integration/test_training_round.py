"""Federated training on real processes: a coordinator and 3 enrolled nodes on 127.0.0.1.

TLS and SuperNode authentication (the SuperLink behind the Fleet proxy), DP-SGD
on every node with its training budget, updates released through each node's
egress gate and ledgered, the persistent learning service doing the compute,
a node killed mid-round (the round completes with the others, the node
rejoins the next round), and the model registered with its sites, privacy
and metrics.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from coordinator.runtime import open_coordinator
from coordinator.settings import CoordinatorSettings
from node.egress import EgressLedger, Outcome
from tests.support.federation import cli, environment, running_federation
from tests.support.learn_sites import PROJECT, default_recipes, prepare_learning_site, tiny_plan

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]

SITES = ("north", "south", "east")
PLAN = tiny_plan(learning_rate=0.01, update_clip_norm=10.0)


def _prepare(data_dir: Path, index: int) -> None:
    prepare_learning_site(data_dir, default_recipes()[index], cases=4)
    (data_dir / "training-policy.json").write_text(
        json.dumps({"epsilon": 200.0, "delta": 1e-2, "release_site_metrics": index != 2})
    )


def _ledger(data_dir: Path) -> list:
    engine = create_engine(f"sqlite:///{data_dir / 'node.sqlite3'}")
    try:
        return EgressLedger(engine).entries()
    finally:
        engine.dispose()


def _wait_for(path: Path, text: str, timeout_s: float = 600) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_three_nodes_train_with_dp_and_a_node_killed_mid_round(tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(PLAN))
    with running_federation(tmp_path, SITES, prepare=_prepare) as federation:
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
            _wait_for(federation.node_dirs["east"] / "learn" / "service.log", "train request")
            os.kill(federation.nodes["east"].pid, signal.SIGKILL)
            federation.nodes["east"].wait(timeout=30)
            federation.start_node("east")
            out, err = command.communicate(timeout=1200)
        finally:
            if command.poll() is None:
                command.kill()
        assert command.returncode == 0, f"{out}\n{err}\n{federation.diagnostics()}"
        result = json.loads(out.strip().splitlines()[-1])
        assert "round 1: answered north, south; missing east" in err
        first, second = result["history"]
        assert first["answered"] == ["north", "south"] and first["missing"] == ["east"]
        assert second["answered"] == ["east", "north", "south"]
        assert result["rounds_completed"] == 2 and result["status"] == "completed"
        for site in ("north", "south"):
            assert all(c["epsilon"] > 0 for c in second["privacy"][site])
        # per-site figures only where the site's policy releases them
        final = result["final_evaluation"]
        assert set(final["sites"]) == {"north", "south"} and final["withheld"] == ["east"]
        assert "count" in final["pooled"] and "dice" in final["sites"]["north"]

        settings = CoordinatorSettings(data_dir=federation.coordinator_dir, fsync=False)
        with open_coordinator(settings) as runtime:
            version = runtime.models.get("lesion-seg")
            run = runtime.models.run(result["run_id"])
        assert version.sites == ("east", "north", "south")
        assert version.guideline == "lesion-seg"
        assert version.privacy["north"]["epsilon"] > 0 and version.privacy["north"]["releases"] >= 2
        assert "count" in version.metrics["final"]  # noised sums: any sign at this tiny scale
        assert run.status.value == "completed" and run.rounds_completed == 2
        assert run.model_version == version.version

        for site, rounds in (("north", 2), ("south", 2), ("east", 1)):
            updates = [
                e
                for e in _ledger(federation.node_dirs[site])
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
        assert (
            hashlib.sha256(Path(facts["path"]).read_bytes()).hexdigest() == version.weights_sha256
        )
        again = json.loads(
            cli(
                "node.cli", "model", "pull", "--data-dir", str(federation.node_dirs["north"])
            ).stdout
        )
        assert again["downloaded"] is False
