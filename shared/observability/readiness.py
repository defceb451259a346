"""Readiness: named probes, each saying whether one thing a service needs works now.

``/readyz`` of both services runs a :class:`Readiness` (the probes its app
and its ``serve`` command registered) and answers 200 when every probe passes,
503 otherwise, with each probe's result. Liveness (``/healthz``) stays a bare
"the process answers": a load balancer restarts what is not live and stops
sending to what is not ready.

The probes every service shares live here too: the database answers
(:func:`database_probe`), its schema is at the newest migration
(:func:`schema_probe`), a directory takes new files (:func:`writable_probe`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from shared.observability.logs import redact

__all__ = [
    "Probe",
    "ProbeResult",
    "Readiness",
    "database_probe",
    "schema_probe",
    "schema_revisions",
    "writable_probe",
]


@dataclass(frozen=True)
class ProbeResult:
    """One probe's answer: ``ok`` and a short sentence for the operator."""

    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        """As ``/readyz`` lists it."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


Probe = Callable[[], tuple[bool, str]]
"""Returns ``(ok, detail)``; may raise (the exception's message becomes the detail)."""


class Readiness:
    """The probes of one service instance; thread-safe to extend while serving."""

    def __init__(self) -> None:
        self._probes: dict[str, Probe] = {}
        self._lock = threading.Lock()

    def add(self, name: str, probe: Probe) -> None:
        """Register (or replace) the probe called ``name``."""
        with self._lock:
            self._probes[name] = probe

    def remove(self, name: str) -> None:
        """Forget the probe called ``name`` (a stopped component)."""
        with self._lock:
            self._probes.pop(name, None)

    @property
    def names(self) -> list[str]:
        """The registered probes, in registration order."""
        with self._lock:
            return list(self._probes)

    def run(self) -> list[ProbeResult]:
        """Run every probe; a probe that raises counts as failed."""
        with self._lock:
            probes = list(self._probes.items())
        results = []
        for name, probe in probes:
            try:
                ok, detail = probe()
            except Exception as exc:  # a probe's failure is its answer
                ok, detail = False, redact(f"{type(exc).__name__}: {exc}")
            results.append(ProbeResult(name, ok, detail))
        return results


def database_probe(engine: Engine) -> Probe:
    """The database answers ``SELECT 1``."""

    def probe() -> tuple[bool, str]:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            original = getattr(exc, "orig", None)
            reason = str(original) if original is not None else str(exc)
            return False, redact(f"the database does not answer: {reason.splitlines()[0]}")
        return True, "the database answers"

    return probe


def schema_revisions(engine: Engine, script_location: Path) -> tuple[set[str], set[str]]:
    """The database's current Alembic revisions and the migrations' heads."""
    from alembic.runtime.migration import MigrationContext  # heavy: only when probed
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(script_location))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current, set(script.get_heads())


def schema_probe(engine: Engine, script_location: Path) -> Probe:
    """The schema is at the newest migration of ``script_location``."""

    def probe() -> tuple[bool, str]:
        current, heads = schema_revisions(engine, script_location)
        if current == heads:
            return True, f"schema at revision {', '.join(sorted(heads))}"
        have = ", ".join(sorted(current)) or "none"
        return False, (
            f"schema at revision {have}, this version needs {', '.join(sorted(heads))}: "
            "restart the service to run its migrations"
        )

    return probe


def writable_probe(folder: Path, what: str) -> Probe:
    """A new file can be created in ``folder`` (which must exist: it is never created)."""

    def probe() -> tuple[bool, str]:
        target = folder / f".ready-probe-{os.getpid()}-{threading.get_ident()}"
        try:
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            return False, (
                f"{what} {folder} does not take new files ({exc.strerror}): is it mounted?"
            )
        os.close(descriptor)
        target.unlink(missing_ok=True)
        return True, f"{what} {folder} is writable"

    return probe
