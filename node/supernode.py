"""The node's Flower SuperNode: supervised, connecting out only, authenticated.

When the node is enrolled, ``harmonia-node serve`` runs Flower's SuperNode
as a child process (:class:`SuperNode`), restarted when it exits and stopped
by its PID with the node (SIGTERM: Flower's SuperNode then deactivates its
registration on the SuperLink, so a restarted node is let in at once):

* through :mod:`node.supernode_launcher` (unless ``flower_supernode_launcher``
  is false) (``python -m node.supernode_launcher
  --poll S --bin-dir DATA_DIR/flower/bin -- ...``), which checks the pinned Flower
  version, shortens the SuperNode's hard-coded waits while the node takes
  part in a run (``flower_poll_seconds``, 0.5 s, instead of 3 s between pulls)
  starts each per-message ClientApp process without the SuperNode's
  imports, and, after a kill, deactivates the dead SuperNode's registration
  before it connects (``DATA_DIR/flower/node-id``; :mod:`node.supernode_rejoin`);

* it connects **out** to the Fleet address of the enrollment, over TLS
  verified against the pinned consortium CA (``--root-certificates``): no
  inbound port is opened at the hospital (its own runtime API, which the
  ClientApp processes use, listens on 127.0.0.1 only);
* it authenticates with the node's SuperNode key (made at enrollment; the
  coordinator registered its public key with the SuperLink). Flower reads the
  key in OpenSSH form, so a 0600 copy is written to ``DATA_DIR/flower``;
* ``node_config``: ``data-path`` (this data directory, which the ClientApp
  opens read-only) and ``site`` (the enrolled site name);
* the hardened environment of :func:`shared.flower_process.flower_environment`
  with a private ``FLWR_HOME`` under ``DATA_DIR/flower/home``.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from node.consortium import MembershipFiles, consortium_dir
from shared.crypto import load_private_key
from shared.errors import ConfigurationError
from shared.flower_process import SupervisedProcess, flower_environment, flower_executable

__all__ = ["DEFAULT_POLL_S", "SuperNode", "supernode_for"]

DEFAULT_POLL_S = 0.5
"""Seconds between a SuperNode's pulls while it takes part in a run (Flower: 3 s)."""

_log = logging.getLogger(__name__)


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _openssh_key(pem_path: Path, target: Path) -> Path:
    key = load_private_key(pem_path)
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    return target


class SuperNode:
    """The supervised ``flower-supernode`` of one enrolled node.

    Parameters
    ----------
    data_dir
        The node's data directory.
    site
        The enrolled site name.
    fleet_address
        ``host:port`` of the consortium's Fleet API.
    files
        The enrollment's files (CA bundle, SuperNode key).
    runtime_port
        The loopback port of the SuperNode's own runtime API (free one if None).
    poll_s
        Seconds between the SuperNode's pulls while it takes part in a run
        (:mod:`node.supernode_launcher`; Flower's 3 s when idle); None runs
        Flower's own ``flower-supernode`` instead, unadjusted.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        site: str,
        fleet_address: str,
        files: MembershipFiles,
        runtime_port: int | None = None,
        poll_s: float | None = DEFAULT_POLL_S,
    ) -> None:
        self.site = site
        self.fleet_address = fleet_address
        root = data_dir / "flower"
        key = _openssh_key(files.supernode_key, root / "supernode-openssh.key")
        port = runtime_port or _free_loopback_port()
        data_path = str(data_dir.resolve())
        if poll_s is None:
            command = [flower_executable("flower-supernode")]
        else:
            command = [
                *(sys.executable, "-m", "node.supernode_launcher"),
                *("--poll", f"{poll_s:g}", "--bin-dir", str((root / "bin").resolve())),
                *("--node-id-file", str((root / "node-id").resolve()), "--"),
            ]
        argv = [
            *command,
            "--superlink",
            fleet_address,
            "--root-certificates",
            str(files.ca_bundle.resolve()),
            "--auth-supernode-private-key",
            str(key.resolve()),
            "--node-config",
            f'data-path="{data_path}" site="{site}"',
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        self.process = SupervisedProcess(
            "supernode",
            argv,
            env=flower_environment(root / "home"),
            log_path=root / "supernode.log",
            restart_delay_s=3.0,
        )

    @property
    def pid(self) -> int | None:
        """The SuperNode's PID while it runs."""
        return self.process.pid

    def start(self) -> None:
        """Start it (restarted on exit until :meth:`stop`)."""
        self.process.start()

    def stop(self) -> None:
        """Stop it by PID."""
        self.process.stop()


def supernode_for(data_dir: Path, *, poll_s: float | None = DEFAULT_POLL_S) -> SuperNode | None:
    """The SuperNode of an enrolled node's ``data_dir`` (``poll_s``: see :class:`SuperNode`).

    None when the node is not enrolled, its coordinator gave no Fleet address (it
    runs no SuperLink), or Flower is not installed here (a warning says so).
    """
    files = MembershipFiles(consortium_dir(data_dir))
    if not files.exists():
        return None
    membership = files.membership()
    if not membership.fleet_address:
        return None
    try:
        flower_executable("flower-supernode")
    except ConfigurationError as missing:
        _log.warning("not joining Flower rounds: %s", missing)
        return None
    return SuperNode(
        data_dir,
        site=membership.site,
        fleet_address=membership.fleet_address,
        files=files,
        poll_s=poll_s,
    )
