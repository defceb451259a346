"""Federated training under SecAgg+ on real processes: a coordinator and 3 enrolled nodes.

TLS and SuperNode authentication (the SuperLink behind the Fleet proxy), DP-SGD
on every node, each clipped update released once through the node's egress
gate (``model_update`` to the secure sum, charged) and masked by SecAgg+ (the
protocol traffic ledgered as ``secure_aggregation``); the coordinator unmasks
only the mean, applies it, and registers the model with its sites and their
privacy spent. The final model is better than the initial one on the sites'
validation consensus.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from coordinator.runtime import open_coordinator
from coordinator.settings import CoordinatorSettings
from node.egress import Outcome
from tests.integration.test_training_round import PLAN, SITES, _ledger, _prepare
from tests.support.federation import cli, running_federation
from tests.support.learn_sites import PROJECT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]


def _mean_loss(node_dirs: dict[str, Path], plan_json: str, weights_path: Path) -> float:
    from node.learn.evaluation import evaluate_local  # torch: only in this test's process
    from shared.schemas.training import TrainingPlan
    from shared.weights import decode_weights

    plan = TrainingPlan.from_json(plan_json)
    arrays, _ = decode_weights(weights_path.read_bytes())
    losses = [
        evaluate_local(data_dir, PROJECT, plan, list(arrays.values()))["loss"]
        for data_dir in node_dirs.values()
    ]
    return math.fsum(losses) / len(losses)


def test_three_nodes_train_under_secagg_with_dp(tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps({**PLAN, "learning_rate": 0.05}))
    with running_federation(tmp_path, SITES, prepare=_prepare) as federation:
        trained = cli(
            "coordinator.cli",
            *("round", "train", "--data-dir", str(federation.coordinator_dir)),
            *("--plan", str(plan_path), "--project", PROJECT, "--rounds", "2"),
            *("--min-sites", "3", "--secure-aggregation", "--wait-nodes", "60"),
            *("--reply-timeout", "400"),
            check=False,
            timeout_s=1800,
        )
        assert trained.returncode == 0, (
            f"{trained.stdout}\n{trained.stderr}\n{federation.diagnostics()}"
        )
        result = json.loads(trained.stdout.strip().splitlines()[-1])
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
            version = runtime.models.get("lesion-seg")
            run = runtime.models.run(result["run_id"])
        assert version.sites == tuple(sorted(SITES)) and version.guideline == "lesion-seg"
        assert all(version.privacy[s]["epsilon"] > 0 for s in SITES)
        assert run.status.value == "completed" and run.model_version == version.version

        for site in SITES:
            entries = [
                e for e in _ledger(federation.node_dirs[site]) if e.outcome == Outcome.RELEASED
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

        # the final model: better than the initial weights on the sites' validation consensus
        plan_json = plan_path.read_text()
        before = _mean_loss(federation.node_dirs, plan_json, run_dir / "initial.weights")
        after = _mean_loss(federation.node_dirs, plan_json, run_dir / "final.weights")
        assert math.isfinite(after) and after < before, (before, after)
