"""benchmarks/federated_quality.py --quick runs end to end and ends with its JSON line.

The figures are not judged here (the benchmark reports whether its targets
were met); the test checks the run's structure and that the figures are sane:
every arm scored on the same held-out set, Dice in [0, 1], the DP arm within
each site's epsilon budget as its egress gate accounted it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "federated_quality.py"
ARMS = {"centralized", "federated", "federated-dp", "local-north", "local-south", "local-east"}


@pytest.mark.timeout(3000)
def test_quick_run_reports_every_arm_on_the_common_held_out_set() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick"],
        capture_output=True,
        text=True,
        timeout=2900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "federated_quality" and figures["quick"] is True
    assert set(figures["dice"]) == ARMS == set(figures["dice_per_case"])
    assert all(0.0 <= value <= 1.0 for value in figures["dice"].values())
    assert set(figures["targets_met"]) == {
        "federated_vs_centralized>=0.95",
        "federated_beats_every_local",
        "federated_dp_vs_centralized>=0.85",
    }
    assert all(isinstance(v, bool) for v in figures["targets_met"].values())
    dp = figures["dp"]
    assert len(dp["epsilon_spent"]) == 3
    assert all(0.0 < spent <= dp["epsilon_budget"] + 1e-9 for spent in dp["epsilon_spent"])
    assert dp["noise_multiplier"] > 0
    assert all(n > 0 for n in figures["samples_per_site"].values())
    assert figures["test_slices"] > 0 and figures["rounds"] > 0
    assert set(figures["cpu_seconds"]) >= ARMS
    assert "Held-out Dice" in result.stdout and "Targets" in result.stdout
