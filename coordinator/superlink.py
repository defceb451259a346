"""The coordinator's Flower SuperLink: supervised, TLS, SuperNode authentication.

``harmonia-coordinator serve --flower`` runs ``flower-superlink`` as a child
process (:class:`SuperLink`):

* TLS with the coordinator's CA-issued server certificate (the site API's);
* ``--enable-supernode-auth``: only SuperNodes whose public key is registered
  may connect. :class:`SuperNodeRegistry` keeps the registrations equal to the
  enrolled, unrevoked sites of the coordinator's store: a newly enrolled site's
  key is registered, a revoked site's key is unregistered (``flwr supernode
  register/unregister`` against the local Control API). It reconciles every
  second, so ``site revoke`` run from another process takes effect too;
* its database in ``DATA_DIR/flower/superlink.db``, its ``FLWR_HOME`` in
  ``DATA_DIR/flower/home`` (the ``harmonia`` connection that ``flwr run`` and
  ``flwr supernode`` use), its log in ``DATA_DIR/flower/superlink.log``;
* bound to 127.0.0.1 only: in flwr 1.41 the SuperLink serves its Fleet,
  Control and ServerAppIo (runtime) APIs on one HTTP port, and the Control API
  has no authentication. Nodes reach the Fleet API through the coordinator's
  Fleet proxy (:mod:`coordinator.fleet_proxy`), which forwards ``/v1/fleet/*``
  and nothing else;
* the hardened environment of :func:`shared.flower_process.flower_environment`;
* no Flower helper outlives it: the SuperLink starts a ``flower-superexec`` in a
  session of its own, which starts each run's ``flwr-serverapp``; in flwr 1.41
  both keep running (retrying their connection) when the SuperLink dies with
  its coordinator, and a ServerApp would carry on against the next SuperLink.
  :func:`end_leftover_helpers` ends them by PID (SIGTERM, which makes the
  training ServerApp record its run ``interrupted``; SIGKILL after a grace
  period) after the SuperLink stops and before each SuperLink start.

Nothing here imports Flower: it runs Flower's own commands.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from coordinator.store.tables import SiteRow
from shared.crypto import load_public_key
from shared.flower_process import SupervisedProcess, flower_environment, flower_executable

__all__ = [
    "CONNECTION",
    "FlowerPaths",
    "SuperLink",
    "SuperNodeRegistry",
    "end_leftover_helpers",
    "leftover_helpers",
    "write_connection",
]

_log = logging.getLogger(__name__)

CONNECTION = "harmonia"
"""The name of the local SuperLink connection in the coordinator's ``FLWR_HOME``."""


@dataclass(frozen=True)
class FlowerPaths:
    """Where the coordinator keeps its Flower state (``DATA_DIR/flower``)."""

    root: Path

    @classmethod
    def of(cls, data_dir: Path) -> FlowerPaths:
        """The paths under ``data_dir``."""
        return cls(data_dir / "flower")

    @property
    def home(self) -> Path:
        """The private ``FLWR_HOME``."""
        return self.root / "home"

    @property
    def database(self) -> Path:
        """The SuperLink's database."""
        return self.root / "superlink.db"

    @property
    def log(self) -> Path:
        """The SuperLink's log."""
        return self.root / "superlink.log"

    @property
    def registrations(self) -> Path:
        """Which site's key is registered under which SuperNode id (JSON)."""
        return self.root / "supernodes.json"

    @property
    def keys(self) -> Path:
        """The registered public keys, in the OpenSSH form Flower reads."""
        return self.root / "keys"


def write_connection(home: Path, *, address: str, ca_certificate: Path) -> None:
    """Write ``FLWR_HOME/config.toml`` naming the local SuperLink as ``harmonia``."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    (home / "config.toml").write_text(
        "[superlink]\n"
        f'default = "{CONNECTION}"\n\n'
        f"[superlink.{CONNECTION}]\n"
        f'address = "{address}"\n'
        f'root-certificates = "{ca_certificate.resolve()}"\n',
        encoding="utf-8",
    )


class SuperLink:
    """The supervised ``flower-superlink`` process.

    Parameters
    ----------
    paths
        The coordinator's Flower folder.
    port
        The loopback port of its HTTP APIs (Fleet, Control, ServerAppIo).
    certificate, key, ca_certificate
        Its TLS certificate and key, and the consortium CA (absolute paths are used).
    """

    def __init__(
        self,
        paths: FlowerPaths,
        *,
        port: int,
        certificate: Path,
        key: Path,
        ca_certificate: Path,
    ) -> None:
        self.paths = paths
        self.port = port
        self.address = f"127.0.0.1:{port}"
        paths.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_connection(paths.home, address=self.address, ca_certificate=ca_certificate)
        self.environment = flower_environment(paths.home)
        argv = [
            flower_executable("flower-superlink"),
            "--ssl-certfile",
            str(certificate.resolve()),
            "--ssl-keyfile",
            str(key.resolve()),
            "--ssl-ca-certfile",
            str(ca_certificate.resolve()),
            "--enable-supernode-auth",
            "--disable-runtime-dependency-installation",
            "--database",
            str(paths.database.resolve()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        self.process = SupervisedProcess(
            "superlink",
            argv,
            env=self.environment,
            log_path=paths.log,
            before_spawn=self.end_leftovers,
        )

    @property
    def pid(self) -> int | None:
        """The SuperLink's PID while it runs."""
        return self.process.pid

    def start(self) -> None:
        """Start it (it keeps being restarted until :meth:`stop`)."""
        self.process.start()

    def stop(self) -> None:
        """Stop it by PID, then the Flower helpers it leaves (its SuperExec, a ServerApp)."""
        self.process.stop()
        self.end_leftovers()

    def end_leftovers(self) -> list[int]:
        """End the helpers of an earlier SuperLink on this port; their PIDs."""
        ended = end_leftover_helpers(self.port)
        if ended:
            _log.warning(
                "ended %d Flower helper(s) left by a stopped SuperLink on port %d (PIDs %s)",
                len(ended),
                self.port,
                ", ".join(map(str, ended)),
            )
        return ended

    def ready(self) -> bool:
        """Whether the SuperLink accepts connections on its port."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def flwr(self, *args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
        """Run the ``flwr`` CLI against this SuperLink (its Control API, on loopback)."""
        return subprocess.run(
            [flower_executable("flwr"), *args],
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )


_HELPERS = ("flower-superexec", "flwr-serverapp")
"""The processes a SuperLink starts (each names the SuperLink's address with
``--runtime-api-address``)."""


def leftover_helpers(port: int, *, proc: Path = Path("/proc")) -> list[int]:
    """PIDs of this user's Flower helpers that talk to the SuperLink on ``127.0.0.1:port``.

    Read from ``/proc`` (Linux; elsewhere none are found).
    """
    address = f"127.0.0.1:{port}"
    found = []
    for entry in proc.glob("[0-9]*"):
        try:
            if entry.stat().st_uid != os.getuid():
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # it ended meanwhile, or is not ours to read
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if not any(Path(w).name in _HELPERS for w in words[:2]):
            continue
        pairs = itertools.pairwise(words)
        if any(a == "--runtime-api-address" and b == address for a, b in pairs):
            found.append(int(entry.name))
    return sorted(found)


def end_leftover_helpers(port: int, *, grace_s: float = 15.0) -> list[int]:
    """End the helpers :func:`leftover_helpers` finds (SIGTERM, SIGKILL after ``grace_s``)."""
    pids = [pid for pid in leftover_helpers(port) if pid != os.getpid()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + grace_s
    alive = set(pids)
    while alive and time.monotonic() < end:
        alive = {pid for pid in alive if _running(pid)}
        time.sleep(0.1)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


_REGISTER_TIMEOUT_S = 900.0


def _openssh(public_key_pem: str) -> bytes:
    return load_public_key(public_key_pem).public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )


def _json_tail(output: str) -> dict[str, object]:
    start = output.find("{")
    if start < 0:
        return {}
    try:
        value = json.loads(output[start:])
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


class SuperNodeRegistry:
    """Keeps the SuperLink's registered SuperNode keys equal to the enrolled sites.

    Parameters
    ----------
    engine
        The coordinator's store (sites and their SuperNode public keys).
    superlink
        Where to register.
    interval_s
        How often :meth:`run` reconciles.
    """

    def __init__(self, engine: Engine, superlink: SuperLink, *, interval_s: float = 1.0) -> None:
        self.engine = engine
        self.superlink = superlink
        self.paths = superlink.paths
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def registered(self) -> dict[str, dict[str, str]]:
        """``{site: {"fingerprint", "node_id"}}`` as last registered."""
        try:
            data = json.loads(self.paths.registrations.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return {str(k): {str(a): str(b) for a, b in v.items()} for k, v in data.items()}

    def _save(self, registered: dict[str, dict[str, str]]) -> None:
        path = self.paths.registrations
        staging = path.with_suffix(".tmp")
        staging.write_text(json.dumps(registered, indent=2, sort_keys=True), encoding="utf-8")
        staging.replace(path)

    def wanted(self) -> dict[str, tuple[str, str]]:
        """``{site: (fingerprint, public key PEM)}`` of every enrolled, unrevoked site."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(
                    SiteRow.name,
                    SiteRow.supernode_key_fingerprint,
                    SiteRow.supernode_public_key_pem,
                ).where(SiteRow.revoked_at.is_(None), SiteRow.supernode_public_key_pem.is_not(None))
            ).all()
        return {name: (fp or "", pem or "") for name, fp, pem in rows}

    def reconcile(self) -> list[str]:
        """Register new keys and unregister revoked ones; the changes made, as sentences."""
        wanted = self.wanted()
        registered = self.registered()
        changes: list[str] = []
        for site, entry in sorted(registered.items()):
            if site in wanted and wanted[site][0] == entry.get("fingerprint"):
                continue
            result = self.superlink.flwr(
                "supernode", "unregister", entry["node_id"], "--format", "json"
            )
            if result.returncode != 0 or _json_tail(result.stdout).get("success") is not True:
                _log.warning("could not unregister %s: %s", site, result.stdout + result.stderr)
                continue
            del registered[site]
            self._save(registered)
            why = "revoked" if site not in wanted else "its SuperNode key changed"
            changes.append(f"unregistered {site} (SuperNode {entry['node_id']}): {why}")
        for site, (fingerprint, pem) in sorted(wanted.items()):
            if site in registered:
                continue
            self.paths.keys.mkdir(parents=True, exist_ok=True, mode=0o700)
            key_file = self.paths.keys / f"{site}.pub"
            key_file.write_bytes(_openssh(pem))
            # No timeout short of a hung CLI: a register that is cut off after the SuperLink
            # stored the key can never be repeated ("public key already in use"), and Flower
            # lists nodes without their keys or names, so the node id would be lost.
            result = self.superlink.flwr(
                *("supernode", "register", str(key_file), "--name", site, "--format", "json"),
                timeout_s=_REGISTER_TIMEOUT_S,
            )
            node_id = _json_tail(result.stdout).get("node-id")
            if result.returncode != 0 or node_id is None:
                _log.warning("could not register %s: %s", site, result.stdout + result.stderr)
                continue
            registered[site] = {"fingerprint": fingerprint, "node_id": str(node_id)}
            self._save(registered)
            changes.append(f"registered {site} (SuperNode {node_id})")
        return changes

    def node_sites(self) -> dict[int, str]:
        """``{SuperNode id: site}`` of the registered sites."""
        return {int(entry["node_id"]): site for site, entry in self.registered().items()}

    def run(self) -> None:
        """Once the SuperLink answers, reconcile every ``interval_s`` until :meth:`stop`."""
        while not self._stop.is_set() and not self.superlink.ready():
            self._stop.wait(0.2)
        while not self._stop.is_set():
            try:
                for change in self.reconcile():
                    _log.info("SuperLink: %s", change)
            except Exception:  # keep supervising; the next pass retries
                _log.exception("SuperNode registration pass failed")
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        """Reconcile in a background thread."""
        self._thread = threading.Thread(target=self.run, name="supernode-registry", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reconciling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=70)
