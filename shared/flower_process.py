"""Starting and supervising Flower's processes (SuperLink, SuperNode) the hardened way.

Every Flower process Harmonia starts gets the same environment
(:func:`flower_environment`): no telemetry, no update check, no Ray usage
statistics, no runtime dependency installation, and a private ``FLWR_HOME``
so nothing reads or writes the user's ``~/.flwr``. The executables are taken
from the interpreter's own ``bin`` folder (the virtual environment), which is
also put first on ``PATH``: Flower starts helpers (``flower-superexec``,
``flwr-serverapp``, ``flwr-clientapp``) by name. ``FLWR_SUPEREXEC_TASK_POLL_INTERVAL`` is set to
0.2 s (:data:`FLOWER_TUNING`): a task starts up to 0.8 s sooner on each side.

:class:`SupervisedProcess` runs one command, restarts it with a back-off when
it exits on its own (logging an error with its exit status and the last line
of its log, so a process that cannot start shows in the service's own log),
and stops it by its PID (SIGTERM, then SIGKILL). Flower's
own helpers watch their parent's PID and exit with it; on Linux the child also
gets SIGKILL when its supervisor dies (``PR_SET_PDEATHSIG``), so a node killed
with ``kill -9`` takes its SuperNode with it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from shared.errors import ConfigurationError

__all__ = [
    "FLOWER_HARDENING",
    "FLOWER_TUNING",
    "SupervisedProcess",
    "flower_environment",
    "flower_executable",
]

_log = logging.getLogger(__name__)

_STABLE_S = 30.0
"""A process that ran this long before exiting is restarted after the base delay again."""
_MAX_RESTART_DELAY_S = 60.0

FLOWER_HARDENING: Mapping[str, str] = {
    "FLWR_TELEMETRY_ENABLED": "0",
    "FLWR_DISABLE_UPDATE_CHECK": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
    "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
}
"""Set for every Flower process: hospitals do not allow silent outbound calls."""

FLOWER_TUNING: Mapping[str, str] = {"FLWR_SUPEREXEC_TASK_POLL_INTERVAL": "0.2"}
"""Flower's one official latency knob: how often a SuperExec looks for a new ServerApp or
ClientApp task (default 1 s). Every Flower process Harmonia starts gets it."""


def _bin_dir() -> Path:
    return Path(sys.executable).parent


def flower_executable(name: str) -> str:
    """The path of Flower's ``name`` command (``flower-superlink``, ``flwr``...).

    Raises
    ------
    ConfigurationError
        Flower is not installed in this environment.
    """
    local = _bin_dir() / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise ConfigurationError(
            f"{name} is not installed: install Harmonia with its learning extra "
            "(pip install 'harmonia[learn]', which pins flwr==1.41.0)",
            setting="flower",
        )
    return found


def flower_environment(
    flwr_home: Path, *, base: Mapping[str, str] | None = None, extra: Mapping[str, str] = {}
) -> dict[str, str]:
    """The environment of a Flower process: hardened, with its own ``FLWR_HOME``."""
    environment = dict(os.environ if base is None else base)
    environment.update(FLOWER_TUNING)
    environment.update(FLOWER_HARDENING)
    environment.update(extra)
    flwr_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    environment["FLWR_HOME"] = str(flwr_home)
    path = environment.get("PATH", "")
    environment["PATH"] = str(_bin_dir()) + (os.pathsep + path if path else "")
    return environment


class SupervisedProcess:
    """One long-running command, restarted when it exits, stopped by PID.

    Parameters
    ----------
    name
        What it is, for messages (``superlink``, ``supernode``).
    argv
        The command.
    env
        Its environment (see :func:`flower_environment`).
    log_path
        Where its standard output and error go (appended).
    restart_delay_s
        The pause before a restart after it exited on its own; it doubles (up to
        60 s) while the process keeps exiting within 30 s of its start.
    before_spawn
        Called before each start (the first and every restart), e.g. to end what a
        previous run of the command left behind.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        restart_delay_s: float = 2.0,
        before_spawn: Callable[[], object] | None = None,
    ) -> None:
        self.name = name
        self.before_spawn = before_spawn
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.restart_delay_s = restart_delay_s
        self.restarts = 0
        self._spawned_at = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The PID of the running process, if any."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def start(self) -> None:
        """Start it, and a watcher that restarts it until :meth:`stop`."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._spawn()
        self._watcher = threading.Thread(
            target=self._watch, name=f"supervise-{self.name}", daemon=True
        )
        self._watcher.start()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            if self.before_spawn is not None:
                self.before_spawn()
            self._process = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            self._spawned_at = time.monotonic()

    def _watch(self) -> None:
        delay = self.restart_delay_s
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            status = process.wait()
            if self._stopping.is_set():
                return
            lived = time.monotonic() - self._spawned_at
            if lived >= _STABLE_S:  # it had been up: a fresh failure, not a start that fails
                delay = self.restart_delay_s
            last = _last_line(self.log_path)
            _log.error(
                "%s exited with status %s after %.1f s%s; restarting in %g s (log: %s)",
                self.name,
                status,
                lived,
                f": {last}" if last else "",
                delay,
                self.log_path,
            )
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, _MAX_RESTART_DELAY_S)
            self.restarts += 1
            self._spawn()

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop it by PID (SIGTERM, then SIGKILL after ``timeout_s``)."""
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=timeout_s)
        if self._watcher is not None:
            self._watcher.join(timeout=timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None


def _last_line(path: Path) -> str:
    """The last non-empty line of a log file (its end only), or ``""``."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _die_with_parent() -> None:
    """In the child, before exec: get SIGKILL when the supervisor dies (Linux).

    A supervisor killed with SIGKILL cannot stop its children; without this the
    Flower process would outlive the node or coordinator it belongs to.
    """
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal the process group this supervisor created for ``process`` (its PID)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
