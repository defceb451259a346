"""Run ``harmonia-node serve`` as a real separate process on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BOOTSTRAP_TOKEN = "hn_bootstrap_integration-test-token-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if node.process.poll() is not None:
            raise RuntimeError(f"node exited with {node.process.returncode}:\n{node.output()}")
        try:
            if httpx.get(f"{node.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"node did not become healthy:\n{node.output()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop by PID: SIGTERM, then SIGKILL if it does not exit."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


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
