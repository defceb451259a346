"""benchmarks/scale.py --quick runs end to end (3 virtual sites), ending with JSON.

Figures are not judged (the machine is shared): what is checked is that every
virtual site answered both rounds, the statistics round's pooled figures equal
the one-process baseline's, every site evaluated the trained model, and the
JSON line has its ratio figures, each this run's simulation over this run's
baseline (growth per added site needs two sizes: the full run's), and the
cost of the one Ray head the run's simulations shared.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.heavy]

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "scale.py"


@pytest.mark.timeout(2400)
def test_scale_quick_run() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=2300,
        check=False,
    )
    print(result.stdout)  # the tables and figures, for whoever runs it with -s
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "scale" and figures["quick"] is True
    counts = figures["sites"]
    assert counts == [3] and figures["dp_sgd"] is True
    head = figures["ray_head"]  # started once for both simulations
    assert head["start_wall_s"] > 0 and head["start_cpu_s"] > 0
    assert result.stdout.count("Ray head started in ") == 1
    for kind in ("stats", "train"):
        rows = figures[kind]
        assert [r["sites"] for r in rows] == counts
        for row in rows:
            assert row["answered"] == row["sites"] and row["missing"] == 0
            assert row["bytes_per_site"] > 0
            assert row["simulation_cpu_s"] > 0 and row["baseline_cpu_s"] > 0
            assert row["simulation_peak_rss_mib"] > 0 and row["baseline_peak_rss_mib"] > 0
            # the ratio is this run's simulation over this run's baseline (both rounded to 0.01)
            expected = row["simulation_cpu_s"] / row["baseline_cpu_s"]
            slack = 0.01 + 0.005 * (1 + expected) / row["baseline_cpu_s"]
            assert math.isclose(row["ratio_cpu_vs_baseline"], expected, abs_tol=slack)
            key = f"{kind}_cpu_vs_baseline_{row['sites']}"
            assert figures["ratios"][key] == row["ratio_cpu_vs_baseline"]
        assert all(v is None for v in figures["growth"][kind].values())  # one size only
    assert all(r["figures_equal_baseline"] is True for r in figures["stats"])
    assert all(r["evaluated"] == r["sites"] == r["baseline_answered"] for r in figures["train"])
    assert set(figures["ratios"]) == {
        f"{kind}_cpu_vs_baseline_{n}" for kind in ("stats", "train") for n in counts
    }
