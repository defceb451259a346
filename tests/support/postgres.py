"""Start a real PostgreSQL server on 127.0.0.1 for one test.

The cluster is made with ``initdb`` in a fresh temporary directory and
trusts connections from 127.0.0.1 only. PostgreSQL refuses to run as root,
so when the tests run as root (CI) its binaries run as the ``postgres``
system user that Debian's package creates (set directly on the child, so
the PID the test holds is the server's own). The server is stopped by PID
(SIGINT: a fast shutdown, then SIGKILL) and its directory removed.

Usage::

    with running_postgres() as server:
        engine = create_engine(server.url)
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.node_process import free_port

__all__ = ["PostgresServer", "PostgresUnavailableError", "postgres_bin_dir", "running_postgres"]

_DATABASE = "harmonia"
_USER = "harmonia"
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 15.0


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL is not installed, or its server would not start."""


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL server: its SQLAlchemy URL and its process id."""

    url: str
    port: int
    pid: int


def postgres_bin_dir() -> Path | None:
    """The directory of the newest installed PostgreSQL server binaries, if any."""
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return None
    versions = sorted(
        (child for child in root.iterdir() if (child / "bin" / "postgres").exists()),
        key=lambda child: int(child.name) if child.name.isdigit() else 0,
    )
    return versions[-1] / "bin" if versions else None


def _server_user() -> dict[str, Any]:
    """Keyword arguments that make a child run as the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return {}
    try:
        account = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise PostgresUnavailableError("running as root but no 'postgres' user exists") from exc
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL cluster; yield how to reach it; stop it."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailableError("PostgreSQL server binaries not found under /usr/lib")
    as_server = _server_user()
    base = Path(tempfile.mkdtemp(prefix="harmonia-pg-"))
    data_dir = base / "data"
    socket_dir = base / "socket"
    socket_dir.mkdir()
    if as_server:
        os.chmod(base, 0o755)
        for path in (base, socket_dir):
            os.chown(path, as_server["user"], as_server["group"])
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                _USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            **as_server,
        )
        port = free_port()
        log = open(base / "server.log", "wb")  # noqa: SIM115 (closed below)
        process = subprocess.Popen(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data_dir),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-k",
                str(socket_dir),
                "-c",
                "fsync=off",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            **as_server,
        )
        log.close()
        _wait_ready(bin_dir, port, process, base / "server.log")
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", _USER, _DATABASE],
            check=True,
            capture_output=True,
            **as_server,
        )
        yield PostgresServer(
            url=f"postgresql+psycopg://{_USER}@127.0.0.1:{port}/{_DATABASE}",
            port=port,
            pid=process.pid,
        )
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(base, ignore_errors=True)


def _wait_ready(
    bin_dir: Path,
    port: int,
    process: subprocess.Popen[bytes],
    log_path: Path,
) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PostgresUnavailableError(
                f"postgres exited with {process.returncode}: {log_path.read_text()[-2000:]}"
            )
        ready = subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
            capture_output=True,
        )
        if ready.returncode == 0:
            return
        time.sleep(0.2)
    raise PostgresUnavailableError(
        f"postgres did not accept connections within {_START_TIMEOUT_S}s"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server by PID: SIGINT is PostgreSQL's fast shutdown."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=_STOP_TIMEOUT_S)
