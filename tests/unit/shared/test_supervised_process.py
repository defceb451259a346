"""SupervisedProcess: a child that cannot start is logged with its error, retried, backing off."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from pathlib import Path

import pytest

from shared.flower_process import SupervisedProcess


def test_a_failing_child_is_logged_with_its_last_line_and_restarted_with_back_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / "child.log"
    child = SupervisedProcess(
        "learning-service",
        [sys.executable, "-c", "import sys; print('OSError: AF_UNIX path too long'); sys.exit(3)"],
        env=dict(os.environ),
        log_path=log,
        restart_delay_s=0.05,
    )
    caplog.set_level(logging.ERROR, logger="shared.flower_process")
    child.start()
    try:
        end = time.monotonic() + 120
        while child.restarts < 3 and time.monotonic() < end:
            time.sleep(0.05)
    finally:
        child.stop()
    assert child.restarts >= 3
    lines = [r.getMessage() for r in caplog.records if "exited with status 3" in r.getMessage()]
    assert len(lines) >= 3, caplog.text
    assert all(
        line.startswith("learning-service exited with status 3")
        and "OSError: AF_UNIX path too long" in line
        and str(log) in line
        for line in lines
    ), lines
    delays = [float(m.group(1)) for m in (re.search(r"in ([\d.]+) s", x) for x in lines) if m]
    assert delays[:3] == [0.05, 0.1, 0.2]  # doubling while it keeps failing at start


def test_stopping_is_not_reported_as_a_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    child = SupervisedProcess(
        "supernode",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        env=dict(os.environ),
        log_path=tmp_path / "child.log",
    )
    caplog.set_level(logging.ERROR, logger="shared.flower_process")
    child.start()
    assert child.pid is not None
    child.stop()
    assert child.pid is None and child.restarts == 0
    assert "exited" not in caplog.text
