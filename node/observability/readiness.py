"""The node's readiness probes: what ``/readyz`` checks.

* ``database`` — the database answers;
* ``schema`` — it is at the newest migration this version ships;
* ``blob_store`` — ``DATA_DIR/instances`` takes new files (a storage mount
  that vanished fails here);
* ``dicom_scp`` — when the C-STORE SCP is configured, ``serve`` registers it:
  its port accepts connections;
* ``supernode`` — when the node is enrolled in a Flower federation, ``serve``
  registers it: the supervised SuperNode process is running.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from shared.observability import Probe, Readiness, database_probe, schema_probe, writable_probe

__all__ = ["NODE_MIGRATIONS", "listening_probe", "node_readiness", "process_probe"]

NODE_MIGRATIONS = Path(__file__).resolve().parent.parent / "store" / "migrations"


def node_readiness(engine: Callable[[], Engine | None], blob_dir: Path) -> Readiness:
    """The probes every node has: database, schema, blob store.

    ``engine`` returns the open node's engine, or None while it is opening.
    """

    def on_engine(make: Callable[[Engine], Probe]) -> Probe:
        def probe() -> tuple[bool, str]:
            current = engine()
            if current is None:
                return False, "the node is still opening its data directory"
            return make(current)()

        return probe

    readiness = Readiness()
    readiness.add("database", on_engine(database_probe))
    readiness.add("schema", on_engine(lambda e: schema_probe(e, NODE_MIGRATIONS)))
    readiness.add("blob_store", writable_probe(blob_dir, "the blob store"))
    return readiness


def listening_probe(host: str, port: int, what: str) -> Probe:
    """``host:port`` accepts a TCP connection (``0.0.0.0`` is tried on 127.0.0.1)."""
    target = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host

    def probe() -> tuple[bool, str]:
        try:
            with socket.create_connection((target, port), timeout=2):
                pass
        except OSError as exc:
            return False, f"{what} on {host}:{port} does not accept connections ({exc})"
        return True, f"{what} listening on {host}:{port}"

    return probe


def process_probe(pid: Callable[[], int | None], what: str) -> Probe:
    """A supervised process is running (``pid()`` returns its PID while it runs)."""

    def probe() -> tuple[bool, str]:
        current = pid()
        if current is None:
            return False, f"{what} is not running (it is restarted automatically; see its log)"
        return True, f"{what} running (pid {current})"

    return probe
