"""Run ``harmonia-node serve`` as a real separate process on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from coordinator.sandbox import SandboxError
from coordinator.sandbox.processes import free_port, wait_healthy
from coordinator.sandbox.processes import stop_process as stop

__all__ = [
    "BOOTSTRAP_TOKEN",
    "NodeProcess",
    "free_port",
    "running_node",
    "stop",
]

BOOTSTRAP_TOKEN = "hn_bootstrap_integration-test-token-0123456789"


@dataclass
class NodeProcess:
    process: subprocess.Popen[bytes]
    url: str
    token: str
    data_dir: Path
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def _wait_healthy(node: NodeProcess, deadline_s: float = 60) -> None:
    try:
        wait_healthy(node.url, node.process, deadline_s=deadline_s, log=node.log)
    except SandboxError as error:
        raise RuntimeError(f"{error}:\n{node.output()}") from error


@contextmanager
def running_node(
    data_dir: Path,
    *,
    extra_args: Sequence[str] = (),
    bootstrap_token: str | None = BOOTSTRAP_TOKEN,
    env: dict[str, str] | None = None,
) -> Iterator[NodeProcess]:
    port = free_port()
    log = data_dir.parent / f"node-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HARMONIA_NODE_")}
    environment.update(env or {})
    if bootstrap_token is not None:
        environment["HARMONIA_NODE_BOOTSTRAP_TOKEN"] = bootstrap_token
    command = [
        sys.executable,
        "-m",
        "node.cli",
        "serve",
        "--data-dir",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *extra_args,
    ]
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            command, stdout=handle, stderr=subprocess.STDOUT, env=environment
        )
    node = NodeProcess(process, f"http://127.0.0.1:{port}", bootstrap_token or "", data_dir, log)
    try:
        _wait_healthy(node)
        yield node
    finally:
        stop(process)
