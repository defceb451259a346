"""benchmarks/federated_quality.py --quick runs end to end and ends with its JSON line.

The figures are not judged here (the benchmark reports whether its targets
were met; at CI size a Dice of 0 is possible); the test checks the run's
structure and that the figures are sane: every arm (centralized, federated,
each site alone, DP) scored on the same held-out set, Dice in [0, 1], the
ratios computed from this run's own centralized and local-only baselines, the
DP arm within each site's epsilon budget as its egress gate accounted it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.heavy]

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "federated_quality.py"
ROUNDED = 5e-5  # the JSON's Dice figures are rounded to 4 decimals


def _ratio_matches(ratio: float | None, numerator: float, denominator: float) -> bool:
    """``ratio`` is ``numerator / denominator`` of the rounded figures (None when it is 0)."""
    if denominator == 0:
        return ratio is None
    assert ratio is not None and math.isfinite(ratio)
    bound = ROUNDED * (1 + ratio) / max(denominator - ROUNDED, ROUNDED) + 1e-4
    return abs(ratio - numerator / denominator) <= bound


@pytest.mark.timeout(1800)
def test_quick_run_reports_every_arm_on_the_common_held_out_set() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick"],
        capture_output=True,
        text=True,
        timeout=1700,
        check=False,
    )
    print(result.stdout)  # the tables and figures, for whoever runs it with -s
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "federated_quality" and figures["quick"] is True
    sites = figures["sites"]
    assert len(sites) >= 2
    arms = {"centralized", "federated", "federated-dp", *(f"local-{s}" for s in sites)}
    assert set(figures["dice"]) == arms == set(figures["dice_per_case"]) == set(figures["curves"])
    assert all(0.0 <= value <= 1.0 for value in figures["dice"].values())
    assert all(0.0 <= value <= 1.0 for value in figures["dice_per_case"].values())
    for points in figures["curves"].values():
        assert str(figures["rounds"]) in points  # every arm scored after its last round
        assert all(0.0 <= value <= 1.0 for value in points.values())
    dice, ratios = figures["dice"], figures["ratios"]
    central = dice["centralized"]
    best_local = max(dice[f"local-{s}"] for s in sites)
    assert _ratio_matches(ratios["federated_vs_centralized"], dice["federated"], central)
    assert _ratio_matches(ratios["federated_dp_vs_centralized"], dice["federated-dp"], central)
    assert _ratio_matches(ratios["federated_vs_best_local"], dice["federated"], best_local)
    assert set(figures["targets_met"]) == {
        "federated_vs_centralized>=0.95",
        "federated_beats_every_local",
        "federated_dp_vs_centralized>=0.85",
    }
    assert all(isinstance(v, bool) for v in figures["targets_met"].values())
    dp = figures["dp"]
    assert len(dp["epsilon_spent"]) == len(sites)
    assert all(0.0 < spent <= dp["epsilon_budget"] + 1e-9 for spent in dp["epsilon_spent"])
    assert dp["noise_multiplier"] > 0
    assert set(figures["samples_per_site"]) == set(sites)
    assert all(n > 0 for n in figures["samples_per_site"].values())
    assert figures["test_slices"] > 0 and figures["rounds"] > 0
    assert set(figures["cpu_seconds"]) >= arms
    assert all(math.isfinite(v) and v >= 0 for v in figures["cpu_seconds"].values())
    assert "Held-out Dice" in result.stdout and "Targets" in result.stdout
