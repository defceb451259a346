"""Harmonia's services and commands as child processes on 127.0.0.1, stopped by PID.

:class:`Service` is one long-running process (``serve``) with its log file and
health URL; :func:`run_command` runs one CLI command to completion with its
output appended to a log. Both give children a clean environment
(:func:`child_environment`: no inherited ``HARMONIA_*`` settings) so the
sandbox, the integration tests and the benchmarks start processes the same way.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from coordinator.sandbox.errors import CommandFailedError, SandboxError

__all__ = [
    "Service",
    "child_environment",
    "free_port",
    "run_command",
    "stop_process",
    "wait_healthy",
]

LEAN_SETTINGS: Mapping[str, str] = {
    "HARMONIA_COORDINATOR_FSYNC": "false",
    "HARMONIA_NODE_FSYNC": "false",
    "HARMONIA_NODE_INGEST_WORKERS": "0",
}
"""Settings for throw-away data directories on small machines (no fsync, no ingest pool)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment without ``HARMONIA_*`` settings, plus :data:`LEAN_SETTINGS`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARMONIA_")}
    env.update(LEAN_SETTINGS)
    env.update(extra or {})
    return env


def stop_process(process: subprocess.Popen[bytes], *, grace_s: float = 15) -> None:
    """Stop one child by its PID: SIGTERM, then SIGKILL if it has not exited in ``grace_s``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace_s)


def wait_healthy(
    url: str, process: subprocess.Popen[bytes], *, deadline_s: float = 120, log: Path | None = None
) -> None:
    """Poll ``url/healthz`` until 200; fail if the process exits or the deadline passes."""
    end = time.monotonic() + deadline_s
    where = f" (log: {log})" if log is not None else ""
    while time.monotonic() < end:
        if process.poll() is not None:
            raise SandboxError(f"{url} exited with status {process.returncode}{where}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SandboxError(f"{url} did not become healthy within {deadline_s:.0f} s{where}")


@dataclass
class Service:
    """One long-running Harmonia process (``python -m MODULE serve ...``)."""

    name: str
    module: str
    args: Sequence[str]
    url: str
    log: Path
    env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The running process's id."""
        return None if self.process is None else self.process.pid

    def start(self, *, deadline_s: float = 120, wait: bool = True) -> None:
        """Start the process (output appended to :attr:`log`); wait until healthy unless told."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=child_environment(self.env),
                start_new_session=True,  # Ctrl-C in the terminal reaches only the sandbox
            )
        if wait:
            self.wait_healthy(deadline_s=deadline_s)

    def wait_healthy(self, *, deadline_s: float = 120) -> None:
        """Wait until the started process answers ``/healthz``."""
        if self.process is None:
            raise SandboxError(f"{self.name} was never started")
        wait_healthy(self.url, self.process, deadline_s=deadline_s, log=self.log)

    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Stop it by PID (SIGTERM, then SIGKILL)."""
        if self.process is not None:
            stop_process(self.process)


def run_command(
    module: str,
    args: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 1800,
    stdin: str | None = None,
) -> str:
    """Run ``python -m MODULE ARGS``; return its stdout, log both streams to ``log``.

    Raises :class:`CommandFailedError` (naming the log) when it exits non-zero.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=child_environment(env),
        timeout=timeout_s,
        check=False,
    )
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"$ {module} {' '.join(args)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
        raise CommandFailedError(
            f"{module} {args[0] if args else ''} exited with {result.returncode}: {last[0]}",
            log=log,
            returncode=result.returncode,
        )
    return result.stdout
