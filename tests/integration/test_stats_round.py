"""A federated statistics round on real processes: a coordinator and 3 nodes on 127.0.0.1.

The coordinator runs ``serve --flower`` (SuperLink with TLS and SuperNode
authentication behind the Fleet proxy); the nodes are enrolled through the
real CLI and their ``serve`` runs the SuperNode. Each node holds Lung-RADS
readings of 2–3 readers per task, with a different amount of disagreement per
site, made through the node's annotation domain on phantom series.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from node.egress import EgressLedger, Outcome
from node.store.database import create_database_engine
from tests.support.federation import Federation, cli, environment, running_federation
from tests.support.node_process import stop
from tests.support.stats_sites import (
    PROJECT,
    node_settings,
    union_figures,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SITES = ("hosp-a", "hosp-b", "hosp-c")
POLICY_EPSILON = 7.5  # one noised round at z=2 (about 6.9) fits; a second does not


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    root = tmp_path_factory.mktemp("federation")
    with running_federation(root, SITES, policy_epsilon=POLICY_EPSILON) as running:
        yield running


def _ledger(data_dir: Path) -> list[Any]:
    engine = create_database_engine(node_settings(data_dir).resolved_database_url, durable=False)
    try:
        return EgressLedger(engine).entries()
    finally:
        engine.dispose()


def _confusion(result: dict[str, Any]) -> np.ndarray:
    return np.asarray(result["pooled"]["lung-rads"]["confusion"]["counts"], dtype=float)


def _exact_confusion(federation: Federation) -> np.ndarray:
    from node.stats import agreement_payload
    from tests.support.stats_sites import project_data

    total = None
    for data_dir in federation.node_dirs.values():
        for entry in agreement_payload(project_data(data_dir))["statistics"]:
            if (entry["label"], entry["statistic"]) == ("lung-rads", "confusion"):
                counts = np.asarray(entry["arrays"]["counts"], dtype=float)
                total = counts if total is None else total + counts
    assert total is not None
    return total


def test_noise_free_round_equals_agreement_on_the_union(federation: Federation) -> None:
    result = federation.round("--no-noise", "--reply-timeout", "60")
    assert result["answered"] == list(SITES), federation.diagnostics()
    assert result["missing"] == []
    reference = union_figures(list(federation.node_dirs.values()))
    assert result["figures"]["lung-rads"] == reference["lung-rads"]  # exactly, not approx
    assert result["figures"]["lung-rads"]["n_pairs"] == 4 + 3 * 3 + 4 * 3
    # the ledgers show exactly what each site released in this round
    for site, data_dir in federation.node_dirs.items():
        released = [
            e
            for e in _ledger(data_dir)
            if e.round_id == result["round_id"] and e.outcome == Outcome.RELEASED
        ]
        assert [e.kind for e in released] == ["agreement_statistics", "diversity_statistics"]
        reported = result["sites"][site]
        assert [e.sha256 for e in released] == reported["sha256"]
        assert [e.byte_count for e in released] == reported["bytes"]
        assert all(e.epsilon is None for e in released)  # noise-free: nothing charged
    stored = cli(
        "coordinator.cli",
        "round",
        "show",
        result["round_id"],
        "--data-dir",
        str(federation.coordinator_dir),
    )
    assert json.loads(stored.stdout)["figures"] == result["figures"]


def test_noised_round_is_within_the_mechanism_bound_then_the_budget_refuses(
    federation: Federation,
) -> None:
    z = 2.0
    result = federation.round("--noise-multiplier", str(z), "--delta", "1e-5")
    assert result["answered"] == list(SITES), federation.diagnostics()
    # per site one Gaussian with sigma = z * (pairs per task): r=2 -> 1, r=3 -> 3; rounding
    # moves each site's count by at most 0.5 and clipping at 0 only moves it closer
    sigma = z * np.sqrt(1**2 + 3**2 + 3**2)
    error = np.abs(_confusion(result) - _exact_confusion(federation))
    assert error.max() <= 5 * sigma + 1.5
    for site, data_dir in federation.node_dirs.items():
        charged = [
            e
            for e in _ledger(data_dir)
            if e.round_id == result["round_id"] and e.outcome == Outcome.RELEASED
        ]
        assert [e.mechanism for e in charged] == ["gaussian-z2-k2", "gaussian-z2-k6"]
        assert charged[-1].spent_epsilon == pytest.approx(6.8555, abs=1e-3)
        assert result["sites"][site]["epsilon"] == [e.epsilon for e in charged]
    again = federation.round("--noise-multiplier", str(z), "--delta", "1e-5", check=False)
    assert again["answered"] == []
    for site in SITES:
        refusal = again["sites"][site]
        assert refusal["status"] == "refused"
        assert refusal["error"] == "BudgetExceededError"
        assert "budget" in refusal["message"] and "left" in refusal["message"]


def test_a_node_killed_mid_round_is_reported_and_the_round_completes(
    federation: Federation,
) -> None:
    command = [
        sys.executable,
        "-m",
        "coordinator.cli",
        "round",
        "stats",
        "--data-dir",
        str(federation.coordinator_dir),
        "--project",
        PROJECT,
        "--no-noise",
        "--wait-nodes",
        "40",
        "--reply-timeout",
        "30",  # the live nodes answer in about 15 s here; the killed one never does
    ]
    superlink_log = federation.coordinator_dir / "flower" / "superlink.log"
    fetched = superlink_log.read_text(errors="replace").count("Fleet.GetFab")
    running = subprocess.Popen(command, stdout=subprocess.PIPE, env=environment())
    try:
        end = time.monotonic() + 90
        while time.monotonic() < end:  # mid-round: the nodes are fetching the round's app
            if superlink_log.read_text(errors="replace").count("Fleet.GetFab") > fetched:
                break
            time.sleep(0.1)
        victim = federation.nodes["hosp-c"]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        out, _err = running.communicate(timeout=240)
    finally:
        stop(running)
    result = json.loads(out)
    assert result["answered"] == ["hosp-a", "hosp-b"], federation.diagnostics()
    assert result["missing"] == ["hosp-c"]
    assert result["sites"]["hosp-c"]["status"] == "missing"
    reference = union_figures([federation.node_dirs["hosp-a"], federation.node_dirs["hosp-b"]])
    assert result["figures"]["lung-rads"] == reference["lung-rads"]
