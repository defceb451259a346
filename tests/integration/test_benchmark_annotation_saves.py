"""The concurrent-saves benchmark at CI size: nothing acknowledged is lost or doubled.

Only durability is asserted; the latency and throughput figures are printed, never judged.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "annotation_saves.py"


def test_quick_run_loses_and_duplicates_nothing() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "annotation_saves" and figures["quick"] is True
    assert figures["saves"] > 0
    assert figures["lost"] == 0
    assert figures["duplicated"] == 0
    assert figures["errors"] == 0
