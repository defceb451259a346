"""The slice-scroll benchmark runs end to end at CI size and ends with its JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.e2e]

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_slice_scroll_quick_run_prints_its_figures() -> None:
    pytest.importorskip("playwright.sync_api")
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "slice_scroll.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "slice_scroll" and figures["quick"] is True
    for viewer in ("baseline", "viewer"):
        assert figures[viewer]["fps"] > 0
        assert figures[viewer]["slices_drawn"] >= 1
    assert all(value > 0 for value in figures["ratios"].values())
