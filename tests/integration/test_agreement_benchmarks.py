"""The agreement and consensus benchmarks run at CI size and end with their JSON line.

They start no servers (so they are marked slow, not integration); figures and ratios
are printed, never judged: timings on a shared machine are not a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize("name", ["agreement_overlap", "agreement_categorical", "staple"])
def test_agreement_benchmark_quick_run_prints_its_figures(name: str) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == name and figures["quick"] is True
    assert figures["ratios"] and all(value > 0 for value in figures["ratios"].values())
    assert "ours_peak_vs_input" in figures
