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
    print(result.stdout)  # the tables and figures, for whoever runs it with -s
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == name and figures["quick"] is True
    return figures


@pytest.mark.timeout(1800)
def test_coordinator_polling_quick_run() -> None:
    figures = _quick("coordinator_polling")
    sites = figures["sites"]
    assert sites >= 2
    assert figures["errors"] == 0
    assert figures["all_sites_answered"] is True
    assert figures["sites_seen_in_dashboard"] == sites  # last seen and version recorded for all
    for phase in ("site_api", "baseline_healthz"):
        data = figures[phase]
        assert data["requests"] > 0 and data["errors"] == 0
        assert data["sites_answered"] == sites
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
    site, base = figures["site_api"], figures["baseline_healthz"]
    pairs = {  # each ratio is this run's site figure over this run's /healthz figure
        "cpu_per_request_site_vs_healthz": (
            site["coordinator_cpu_ms_per_request"],
            base["coordinator_cpu_ms_per_request"],
        ),
        "p50_site_vs_healthz": (site["latency_ms"]["p50"], base["latency_ms"]["p50"]),
        "p95_site_vs_healthz": (site["latency_ms"]["p95"], base["latency_ms"]["p95"]),
    }
    for name, (numerator, denominator) in pairs.items():
        if numerator and denominator:
            assert figures["ratios"][name] == round(numerator / denominator, 2)


@pytest.mark.timeout(1800)
def test_stats_simulation_quick_run() -> None:
    figures = _quick("stats_simulation")
    (run,) = figures["runs"]
    assert run["sites"] >= 3  # one copy of each template site at least
    assert run["answered"] == run["sites"] and run["missing"] == 0
    assert run["figures_equal_baseline"] is True
    assert run["bytes_per_site"] > 0
    assert run["simulation_peak_rss_mib"] > run["baseline_peak_rss_mib"] > 0
    assert run["round_s"] > 0 and run["baseline_s"] > 0
    ratios = figures["ratios"]
    assert ratios[f"round_vs_baseline_{run['sites']}"] > 0
    assert ratios[f"round_vs_baseline_{run['sites']}"] == run["ratio_round_vs_baseline"]
    assert "real per-site SQLite stores" in figures["node_path"]
