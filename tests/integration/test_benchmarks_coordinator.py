"""The coordinator's scale benchmarks run end to end at CI size and end with their JSON line.

Figures are not judged (the machine is shared); what is checked is that every
site answered, nothing failed, the JSON line has its structure, and the
simulated round's figures equal the one-process baseline's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _quick(name: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == name and figures["quick"] is True
    return figures


@pytest.mark.timeout(1800)
def test_coordinator_polling_quick_run() -> None:
    figures = _quick("coordinator_polling")
    assert figures["sites"] == 10
    assert figures["errors"] == 0
    assert figures["all_sites_answered"] is True
    assert figures["sites_seen_in_dashboard"] == 10  # last seen and version recorded for all
    for phase in ("site_api", "baseline_healthz"):
        data = figures[phase]
        assert data["requests"] > 0 and data["errors"] == 0
        assert data["sites_answered"] == 10
        latency = data["latency_ms"]
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
        assert data["coordinator_cpu_s"] >= 0
    assert figures["coordinator_rss_mib"]["peak"] > 0
    assert set(figures["ratios"]) == {
        "cpu_per_request_site_vs_healthz",
        "p50_site_vs_healthz",
        "p95_site_vs_healthz",
    }
    assert all(v is None or v > 0 for v in figures["ratios"].values())


@pytest.mark.timeout(1800)
def test_stats_simulation_quick_run() -> None:
    figures = _quick("stats_simulation")
    (run,) = figures["runs"]
    assert run["sites"] == 10
    assert run["answered"] == 10 and run["missing"] == 0
    assert run["figures_equal_baseline"] is True
    assert run["bytes_per_site"] > 0
    assert run["simulation_peak_rss_mib"] > run["baseline_peak_rss_mib"] > 0
    assert run["round_s"] > 0 and run["baseline_s"] > 0
    assert figures["ratios"]["round_vs_baseline_10"] > 0
    assert "real per-site SQLite stores" in figures["node_path"]
