"""Robust aggregation on real processes: one corrupted site wrecks FedAvg, not the median.

A coordinator and 3 enrolled nodes on 127.0.0.1 (TLS, node authentication).
East misbehaves: it is started with the development-only fault injection
``HARMONIA_NODE_FAULT_CORRUPT_UPDATES=scale:1e6``, so every update it
releases is its honest, clipped update times a million — a site that skips
its clipping and sends garbage (a poisoned data set would also do, but its
harm depends on the data and the DP noise; a scaled update is the attack the
robust rules exist for, and the clear-text path does not bound an update's
norm on the coordinator). One round with ``fedavg``: the global model's
weights explode and its loss on the sites' validation consensus collapses.
One round with ``fedmedian``: the coordinate-wise median ignores east and
the model stays where honest training takes it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.integration.test_training_round import SITES
from tests.support.federation import cli, running_federation
from tests.support.learn_sites import PROJECT, default_recipes, prepare_learning_site, tiny_plan

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]


PLAN = tiny_plan()  # DP-SGD: the egress gate releases no model update without it


def _prepare(data_dir: Path, index: int) -> None:
    prepare_learning_site(data_dir, default_recipes()[index], cases=3)
    (data_dir / "training-policy.json").write_text(
        json.dumps({"epsilon": 200.0, "delta": 1e-2, "release_site_metrics": False})
    )


def _figures(node_dirs: dict[str, Path], weights_path: Path) -> dict[str, Any]:
    from node.learn.evaluation import evaluate_local  # torch: only in this test's process
    from shared.schemas.training import TrainingPlan
    from shared.weights import decode_weights

    plan = TrainingPlan.model_validate(PLAN)
    arrays, _ = decode_weights(weights_path.read_bytes())
    weights = list(arrays.values())
    with np.errstate(all="ignore"):
        losses = [
            float(evaluate_local(d, PROJECT, plan, weights)["loss"])
            for s, d in node_dirs.items()
            if s != "east"
        ]
    return {
        "loss": math.fsum(losses) / len(losses),
        "largest": max(float(np.max(np.abs(a))) for a in weights),
    }


def test_one_corrupted_site_wrecks_fedavg_but_not_the_median(tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(PLAN))
    corrupt = {"east": {"HARMONIA_NODE_FAULT_CORRUPT_UPDATES": "scale:1e6"}}
    with running_federation(tmp_path, SITES, prepare=_prepare, node_env=corrupt) as federation:
        results = {}
        for rule in ("fedavg", "fedmedian"):
            trained = cli(
                "coordinator.cli",
                *("round", "train", "--data-dir", str(federation.coordinator_dir)),
                *("--plan", str(plan_path), "--project", PROJECT, "--rounds", "1"),
                *("--min-sites", "3", "--aggregation", rule, "--wait-nodes", "60"),
                *("--reply-timeout", "400"),
                check=False,
                timeout_s=1800,
            )
            assert trained.returncode == 0, (
                f"{trained.stdout}\n{trained.stderr}\n{federation.diagnostics()}"
            )
            results[rule] = json.loads(trained.stdout.strip().splitlines()[-1])
        for rule, result in results.items():
            assert result["status"] == "completed" and result["aggregation"] == rule
            assert result["history"][0]["answered"] == sorted(SITES)
        run_dir = Path(results["fedavg"]["weights_path"]).parent
        initial = _figures(federation.node_dirs, run_dir / "initial.weights")
        wrecked = _figures(federation.node_dirs, Path(results["fedavg"]["weights_path"]))
        robust = _figures(federation.node_dirs, Path(results["fedmedian"]["weights_path"]))

    # FedAvg: east's update dominates the mean; the model is destroyed
    assert wrecked["largest"] > 1e4, wrecked
    assert not math.isfinite(wrecked["loss"]) or wrecked["loss"] > 10 * initial["loss"], wrecked
    # the median: weights of honest size, a loss of the untrained model's order (DP-noised)
    assert robust["largest"] < 100, robust
    assert math.isfinite(robust["loss"]) and robust["loss"] < 2 * initial["loss"], (initial, robust)
