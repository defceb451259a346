"""A coordinator (``serve --flower``) and enrolled nodes as real processes on 127.0.0.1.

:func:`running_federation` starts the coordinator with its SuperLink, enrolls
one node per site through the real CLI, fills each with multi-reader readings
(:func:`tests.support.stats_sites.prepare_site`), sets its statistics policy,
and starts each node's ``serve`` (which runs its SuperNode). Everything is
stopped by PID on exit. The stats-round integration test and
``benchmarks/stats_round.py`` share it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coordinator.sandbox.processes import child_environment
from coordinator.sandbox.processes import wait_healthy as _wait_healthy
from tests.support.node_process import free_port, stop
from tests.support.stats_sites import PLANS, PROJECT, prepare_site, write_policy


def environment() -> dict[str, str]:
    """The children's environment: no inherited HARMONIA_* settings, no fsync, no ingest pool."""
    return child_environment()


def cli(
    module: str, *args: str, check: bool = True, timeout_s: float = 240
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=timeout_s,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{module} {args} failed:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class Federation:
    coordinator: subprocess.Popen[bytes]
    coordinator_dir: Path
    nodes: dict[str, subprocess.Popen[bytes]]
    node_dirs: dict[str, Path]
    logs: Path
    node_ports: dict[str, int] | None = None
    node_env: Mapping[str, Mapping[str, str]] | None = None

    def start_node(self, site: str) -> subprocess.Popen[bytes]:
        """(Re)start ``site``'s ``serve`` on its port and wait until it is healthy."""
        ports = self.node_ports if self.node_ports is not None else {}
        self.node_ports = ports
        port = ports.setdefault(site, free_port())
        with open(self.logs / f"{site}.log", "ab") as log:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "node.cli", "serve"),
                    *("--data-dir", str(self.node_dirs[site])),
                    *("--host", "127.0.0.1", "--port", str(port)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**environment(), **(self.node_env or {}).get(site, {})},
            )
        self.nodes[site] = process
        wait_healthy(f"http://127.0.0.1:{port}", process)
        return process

    def round(self, *args: str, check: bool = True) -> dict[str, Any]:
        result = cli(
            "coordinator.cli",
            "round",
            "stats",
            "--data-dir",
            str(self.coordinator_dir),
            "--project",
            PROJECT,
            "--wait-nodes",
            "40",
            *args,
            check=check,
        )
        return json.loads(result.stdout)

    def diagnostics(self) -> str:
        parts = []
        for log in sorted(self.logs.rglob("*.log")):
            parts.append(f"== {log}\n{log.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    """Poll ``url/healthz`` until 200 (240 s: a loaded machine starts a node slowly)."""
    _wait_healthy(url, process, deadline_s=240)


@contextmanager
def running_federation(
    root: Path,
    sites: Sequence[str],
    *,
    policy_epsilon: float = 7.5,
    prepare: Callable[[Path, int], None] | None = None,
    per_site: Collection[str] | None = None,
    coordinator_env: Mapping[str, str] | None = None,
    node_env: Mapping[str, Mapping[str, str]] | None = None,
) -> Iterator[Federation]:
    """A coordinator and one node per site (readings from ``PLANS`` a, b, c...).

    ``prepare(data_dir, index)``, when given, fills each node instead (the
    training rounds' phantom lesions and policies). ``per_site``: the sites
    whose statistics policy allows per-site releases (None: all).
    ``coordinator_env`` adds ``HARMONIA_COORDINATOR_*`` settings (``CAPTURE_DIR``);
    ``node_env`` adds settings per site (``HARMONIA_NODE_FAULT_CORRUPT_UPDATES``).
    """
    port, site_port, fleet_port, superlink_port = (free_port() for _ in range(4))
    coordinator_dir = root / "coordinator"
    with open(root / "coordinator.log", "wb") as log:
        coordinator = subprocess.Popen(
            [
                *(sys.executable, "-m", "coordinator.cli", "serve"),
                *("--data-dir", str(coordinator_dir), "--port", str(port)),
                *("--site-port", str(site_port), "--flower", "--fleet-port", str(fleet_port)),
                *("--superlink-port", str(superlink_port)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**environment(), **(coordinator_env or {})},
        )
    nodes: dict[str, subprocess.Popen[bytes]] = {}
    federation = Federation(coordinator, coordinator_dir, nodes, {}, root, node_env=node_env)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", coordinator)
        for index, site in enumerate(sites):
            added = cli("coordinator.cli", "site", "add", site, "--data-dir", str(coordinator_dir))
            match = re.search(r"(hce\.\S+)", added.stdout)
            assert match is not None, added.stdout
            data_dir = root / site
            cli(
                "node.cli",
                "enroll",
                "--data-dir",
                str(data_dir),
                "--coordinator",
                f"http://127.0.0.1:{port}",
                "--token",
                match.group(1),
            )
            if prepare is None:
                prepare_site(data_dir, PLANS["abc"[index]], seed=index)
                write_policy(
                    data_dir,
                    epsilon=policy_epsilon,
                    delta=1e-4,
                    allow_noise_free=True,
                    allow_per_site_release=per_site is None or site in per_site,
                )
            else:
                prepare(data_dir, index)
            federation.node_dirs[site] = data_dir
            federation.start_node(site)
        yield federation
    finally:
        for process in nodes.values():
            stop(process)
        stop(coordinator)
