"""The coordinator's readiness probes: what its ``/readyz`` checks.

* ``database`` — the database answers;
* ``schema`` — it is at the newest migration this version ships;
* ``keys`` — the consortium CA certificate and the site API's server
  certificate are readable and not expired;
* ``superlink`` — with ``--flower``, ``serve`` registers it: the supervised
  SuperLink process is running and its loopback port accepts connections.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from shared.crypto import CryptoError, load_certificates
from shared.observability import Probe, Readiness, database_probe, schema_probe

__all__ = ["COORDINATOR_MIGRATIONS", "certificates_probe", "coordinator_readiness"]

COORDINATOR_MIGRATIONS = Path(__file__).resolve().parent.parent / "store" / "migrations"


def certificates_probe(paths: Callable[[], list[Path]]) -> Probe:
    """Each certificate file in ``paths()`` is readable and currently valid."""

    def probe() -> tuple[bool, str]:
        now = datetime.now(UTC)
        for path in paths():
            try:
                certificate = load_certificates(path.read_bytes())[0]
            except (OSError, CryptoError) as exc:
                return False, f"cannot read the certificate {path}: {exc}"
            if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
                return False, (
                    f"the certificate {path} is valid only from "
                    f"{certificate.not_valid_before_utc:%Y-%m-%d} to "
                    f"{certificate.not_valid_after_utc:%Y-%m-%d}"
                )
        return True, "the CA and server certificates are readable and valid"

    return probe


def coordinator_readiness(
    engine: Callable[[], Engine | None], certificates: Callable[[], list[Path]]
) -> Readiness:
    """The probes every coordinator has: database, schema, certificates."""

    def on_engine(make: Callable[[Engine], Probe]) -> Probe:
        def probe() -> tuple[bool, str]:
            current = engine()
            if current is None:
                return False, "the coordinator is still opening its data directory"
            return make(current)()

        return probe

    readiness = Readiness()
    readiness.add("database", on_engine(database_probe))
    readiness.add("schema", on_engine(lambda e: schema_probe(e, COORDINATOR_MIGRATIONS)))
    readiness.add("keys", certificates_probe(certificates))
    return readiness
