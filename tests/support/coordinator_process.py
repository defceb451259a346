"""Run ``harmonia-coordinator serve`` as a real separate process on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from coordinator.sandbox import SandboxError, wait_healthy
from tests.support.node_process import free_port, stop

BOOTSTRAP_TOKEN = "hca_bootstrap_integration-test-token-0123456789"


@dataclass
class CoordinatorProcess:
    process: subprocess.Popen[bytes]
    url: str
    site_url: str
    token: str
    data_dir: Path
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``harmonia-coordinator ARGS --data-dir DIR`` against this coordinator's data."""
        result = subprocess.run(
            [sys.executable, "-m", "coordinator.cli", *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            env=_environment(),
            timeout=120,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"coordinator {args} failed:\n{result.stdout}\n{result.stderr}")
        return result


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HARMONIA_COORDINATOR_")}


def _wait_healthy(coordinator: CoordinatorProcess, deadline_s: float = 60) -> None:
    try:
        wait_healthy(
            coordinator.url, coordinator.process, deadline_s=deadline_s, log=coordinator.log
        )
    except SandboxError as error:
        raise RuntimeError(f"{error}:\n{coordinator.output()}") from error


@contextmanager
def running_coordinator(data_dir: Path) -> Iterator[CoordinatorProcess]:
    """Start the coordinator (admin and site listeners on free ports); stop it by PID."""
    port, site_port = free_port(), free_port()
    log = data_dir.parent / f"coordinator-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    environment = _environment()
    environment["HARMONIA_COORDINATOR_BOOTSTRAP_TOKEN"] = BOOTSTRAP_TOKEN
    environment["HARMONIA_COORDINATOR_FSYNC"] = "false"
    command = [
        sys.executable,
        "-m",
        "coordinator.cli",
        "serve",
        "--data-dir",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--site-host",
        "127.0.0.1",
        "--site-port",
        str(site_port),
    ]
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            command, stdout=handle, stderr=subprocess.STDOUT, env=environment
        )
    coordinator = CoordinatorProcess(
        process,
        f"http://127.0.0.1:{port}",
        f"https://127.0.0.1:{site_port}",
        BOOTSTRAP_TOKEN,
        data_dir,
        log,
    )
    try:
        _wait_healthy(coordinator)
        yield coordinator
    finally:
        stop(process)
