"""A stopped SuperLink's Flower helpers (its SuperExec, a run's ServerApp) are ended by PID.

The helpers here are real processes whose command line is a helper's
(``.../flwr-serverapp --runtime-api-address 127.0.0.1:PORT``): a Python script
of that name that records the SIGTERM it gets.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from coordinator.superlink import end_leftover_helpers, leftover_helpers
from shared.flower_process import SupervisedProcess
from tests.support.node_process import free_port

_HELPER = """
import signal, sys, time
from pathlib import Path
mark = Path(sys.argv[-1])
def stop(*_):
    mark.write_text("terminated")
    sys.exit(0)
if sys.argv[-2] == "polite":
    signal.signal(signal.SIGTERM, stop)
else:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
mark.with_suffix(".ready").write_text("ready")
while True:
    time.sleep(0.1)
"""


Spawn = Callable[[str, int, str], tuple[subprocess.Popen[bytes], Path]]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, port: int, manner: str) -> tuple[subprocess.Popen[bytes], Path]:
        script = tmp_path / name
        script.write_text(_HELPER)
        mark = tmp_path / f"{name}-{port}-{manner}.mark"
        process = subprocess.Popen(
            [
                *(sys.executable, str(script), "--runtime-api-address", f"127.0.0.1:{port}"),
                *(manner, str(mark)),
            ]
        )
        started.append(process)
        end = time.monotonic() + 120
        while not mark.with_suffix(".ready").exists():
            assert process.poll() is None and time.monotonic() < end
            time.sleep(0.05)
        return process, mark

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_helpers_of_the_port_are_found_and_ended_with_sigterm_first(spawn: Spawn) -> None:
    port, other = free_port(), free_port()
    serverapp, serverapp_mark = spawn("flwr-serverapp", port, "polite")
    stubborn, _ = spawn("flower-superexec", port, "stubborn")
    elsewhere, _ = spawn("flwr-serverapp", other, "polite")
    assert leftover_helpers(port) == sorted([serverapp.pid, stubborn.pid])

    ended = end_leftover_helpers(port, grace_s=1.0)
    assert sorted(ended) == sorted([serverapp.pid, stubborn.pid])
    assert serverapp.wait(timeout=30) == 0 and serverapp_mark.read_text() == "terminated"
    assert stubborn.wait(timeout=30) == -9  # it ignored SIGTERM: killed after the grace
    assert elsewhere.poll() is None  # another SuperLink's helper is left alone
    assert leftover_helpers(port) == [] and leftover_helpers(other) == [elsewhere.pid]


def test_a_supervised_process_runs_its_before_spawn_before_each_start(tmp_path: Path) -> None:
    calls: list[float] = []
    child = SupervisedProcess(
        "superlink",
        [sys.executable, "-c", "import sys; sys.exit(3)"],
        env=dict(os.environ),
        log_path=tmp_path / "child.log",
        restart_delay_s=0.05,
        before_spawn=lambda: calls.append(time.monotonic()),
    )
    child.start()
    try:
        end = time.monotonic() + 120
        while child.restarts < 2 and time.monotonic() < end:
            time.sleep(0.05)
    finally:
        child.stop()
    assert len(calls) == child.restarts + 1 >= 3
