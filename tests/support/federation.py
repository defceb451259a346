"""A coordinator (``serve --flower``) and enrolled nodes as real processes on 127.0.0.1.

:func:`running_federation` starts the coordinator with its SuperLink, then
sets every site up at once, one thread per site: the site is added and its
node enrolled through the real CLI, filled with multi-reader readings
(:func:`tests.support.stats_sites.prepare_site`, or the caller's
``prepare``) with its statistics policy, and its ``serve`` (which runs its
SuperNode) started; then it waits until every node is healthy. The CLI
calls and node starts of different sites overlap; the in-process
``prepare`` calls take turns (Alembic's migration context is process-global,
so two migrations in one process must not overlap). Everything is stopped by
PID on exit. The statistics, canary and training integration tests and
``benchmarks/stats_round.py`` share it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coordinator.sandbox.processes import child_environment
from coordinator.sandbox.processes import wait_healthy as _wait_healthy
from tests.support.node_process import free_port, stop
from tests.support.stats_sites import PLANS, PROJECT, prepare_site, write_policy

_PREPARING = threading.Lock()
"""In-process site preparation takes turns (see the module docstring)."""


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
    _reconnecting: dict[str, int] = field(default_factory=dict)
    """Restarted sites whose SuperNode has not yet reconnected: their log's size before."""
    _settings: dict[str, dict[str, str]] = field(default_factory=dict)
    """The extra settings each node runs with."""
    coordinator_argv: list[str] = field(default_factory=list)
    """How the coordinator was started (:meth:`restart_coordinator` starts it so again)."""
    coordinator_env: dict[str, str] = field(default_factory=dict)

    def spawn_node(
        self, site: str, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``site``'s ``serve`` on its port without waiting for it.

        ``env`` replaces the site's ``node_env`` settings for this start.
        """
        ports = self.node_ports if self.node_ports is not None else {}
        self.node_ports = ports
        port = ports.setdefault(site, free_port())
        extra = (self.node_env or {}).get(site, {}) if env is None else env
        with open(self.logs / f"{site}.log", "ab") as log:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "node.cli", "serve"),
                    *("--data-dir", str(self.node_dirs[site])),
                    *("--host", "127.0.0.1", "--port", str(port)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**environment(), **extra},
            )
        self.nodes[site] = process
        self._settings[site] = dict(extra)
        return process

    def restart_coordinator(self) -> None:
        """Kill the coordinator (SIGKILL: its SuperLink dies with it) and start it again.

        Returns once it answers ``/healthz``; its nodes' SuperNodes reconnect on their own.
        """
        os.kill(self.coordinator.pid, signal.SIGKILL)
        self.coordinator.wait(timeout=60)
        with open(self.logs / "coordinator.log", "ab") as log:
            self.coordinator = subprocess.Popen(
                self.coordinator_argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.coordinator_env,
            )
        port = self.coordinator_argv[self.coordinator_argv.index("--port") + 1]
        wait_healthy(f"http://127.0.0.1:{port}", self.coordinator)

    def node_url(self, site: str) -> str:
        """The node's HTTP address."""
        assert self.node_ports is not None, "no node was started"
        return f"http://127.0.0.1:{self.node_ports[site]}"

    def start_node(
        self, site: str, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """(Re)start ``site``'s ``serve`` on its port and wait until it is healthy."""
        process = self.spawn_node(site, env)
        wait_healthy(self.node_url(site), process)
        return process

    def stop_node(self, site: str) -> None:
        """Stop ``site``'s ``serve`` by PID (and with it its SuperNode and learning service)."""
        stop(self.nodes[site])

    def restart_node(self, site: str, env: Mapping[str, str] | None = None) -> None:
        """Stop ``site``'s node and start it again (``env``: see :meth:`spawn_node`).

        Returns once the node is healthy; :meth:`wait_ready` waits for its
        SuperNode to be connected again (the SuperLink refuses it until the
        previous one's heartbeat lapses: up to a minute) and its learning
        service to answer.
        """
        log = self._supernode_log(site)
        self._reconnecting[site] = log.stat().st_size if log.exists() else 0
        self.stop_node(site)
        self.start_node(site, env)

    def use_settings(self, site: str, env: Mapping[str, str]) -> None:
        """Have ``site``'s node run with exactly ``env`` as its extra settings, and be ready.

        The node is restarted only when it runs with other settings (a fault
        injection a test set, or not yet the one it needs).
        """
        if self._settings.get(site) != dict(env):
            self.restart_node(site, env)
        self.wait_ready([site])

    def wait_ready(self, sites: Iterable[str] | None = None, deadline_s: float = 240) -> None:
        """Wait until each site's learning service answers and a restarted SuperNode reconnected.

        A run started then reaches every node: a SuperNode that was stopped is
        connected again (not just its stale registration), and no train request
        finds a learning service still importing torch.
        """
        for site in self.node_dirs if sites is None else sites:
            self.wait_learning(site, deadline_s)
            offset = self._reconnecting.pop(site, None)
            if offset is None:
                continue
            log = self._supernode_log(site)
            end = time.monotonic() + deadline_s
            while b"SuperNode ID:" not in (log.read_bytes()[offset:] if log.exists() else b""):
                if self.nodes[site].poll() is not None:
                    raise AssertionError(f"{site}'s node exited ({self.nodes[site].returncode})")
                if time.monotonic() > end:
                    raise AssertionError(f"{site}'s SuperNode did not connect again: see {log}")
                time.sleep(0.2)

    def _supernode_log(self, site: str) -> Path:
        return self.node_dirs[site] / "flower" / "supernode.log"

    def wait_learning(self, site: str, deadline_s: float = 240) -> None:
        """Wait until ``site``'s learning service answers a ping (it imports torch first)."""
        from node.learn.client import LearningClient, LearningServiceUnavailableError

        client = LearningClient(self.node_dirs[site], timeout_s=30)
        end = time.monotonic() + deadline_s
        while True:
            process = self.nodes[site]
            if process.poll() is not None:
                raise AssertionError(f"{site}'s node exited ({process.returncode})")
            try:
                if client.ping().ok:
                    return
            except LearningServiceUnavailableError:
                if time.monotonic() > end:
                    raise
            time.sleep(0.2)

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
        answer: dict[str, Any] = json.loads(result.stdout)
        return answer

    def diagnostics(self) -> str:
        parts = []
        for log in sorted(self.logs.rglob("*.log")):
            parts.append(f"== {log}\n{log.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    """Poll ``url/healthz`` until 200 (240 s: a loaded machine starts a node slowly)."""
    _wait_healthy(url, process, deadline_s=240)


def _stop_all(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """Stop each by its PID, all at the same time (each may take seconds to shut down)."""
    started = list(processes)
    if started:
        with ThreadPoolExecutor(len(started)) as pool:
            list(pool.map(stop, started))


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
    training rounds' phantom lesions and policies); the calls take turns, in
    any order. ``per_site``: the sites whose statistics policy allows per-site
    releases (None: all). ``coordinator_env`` adds ``HARMONIA_COORDINATOR_*``
    settings (``CAPTURE_DIR``); ``node_env`` adds settings per site
    (``HARMONIA_NODE_FAULT_CORRUPT_UPDATES``).
    """
    port, site_port, fleet_port, superlink_port = (free_port() for _ in range(4))
    coordinator_dir = root / "coordinator"
    coordinator_argv = [
        *(sys.executable, "-m", "coordinator.cli", "serve"),
        *("--data-dir", str(coordinator_dir), "--port", str(port)),
        *("--site-port", str(site_port), "--flower", "--fleet-port", str(fleet_port)),
        *("--superlink-port", str(superlink_port)),
    ]
    coordinator_environment = {**environment(), **(coordinator_env or {})}
    with open(root / "coordinator.log", "wb") as log:
        coordinator = subprocess.Popen(
            coordinator_argv, stdout=log, stderr=subprocess.STDOUT, env=coordinator_environment
        )
    nodes: dict[str, subprocess.Popen[bytes]] = {}
    federation = Federation(
        coordinator,
        coordinator_dir,
        nodes,
        {site: root / site for site in sites},
        root,
        node_ports={site: free_port() for site in sites},
        node_env=node_env,
        coordinator_argv=coordinator_argv,
        coordinator_env=coordinator_environment,
    )

    def set_up(index: int, site: str) -> None:
        added = cli("coordinator.cli", "site", "add", site, "--data-dir", str(coordinator_dir))
        match = re.search(r"(hce\.\S+)", added.stdout)
        assert match is not None, added.stdout
        data_dir = federation.node_dirs[site]
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
        with _PREPARING:
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
        federation.start_node(site)

    try:
        wait_healthy(f"http://127.0.0.1:{port}", coordinator)
        if sites:
            with ThreadPoolExecutor(len(sites)) as pool:
                futures = [pool.submit(set_up, i, s) for i, s in enumerate(sites)]
            for future in futures:
                future.result()  # the first site's failure, once every site is done
        ordered = {site: nodes[site] for site in sites}  # the sites' order, as before
        nodes.clear()
        nodes.update(ordered)
        yield federation
    finally:
        _stop_all(nodes.values())
        stop(federation.coordinator)
