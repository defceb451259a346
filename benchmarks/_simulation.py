"""What the Simulation Engine benchmarks share: virtual sites, the engine, measured children.

``benchmarks/stats_simulation.py`` and ``benchmarks/scale.py`` run real rounds
with N virtual sites on Flower's Simulation Engine (Ray), each virtual
SuperNode a real node data directory. This module holds the parts both use:

- :func:`copy_sites`: N node stores copied round-robin from a few prepared
  templates, each enrolled alone (its own ``enrollment.json``), so each keeps
  its own SQLite store, egress ledger and privacy budget;
- :func:`run_on_simulation`: a ServerApp ``main`` run against the node's real
  ClientApp, wrapped only to give each virtual SuperNode its site's
  ``data-path`` and ``site`` in ``node_config`` (a SuperNode gets them from its
  command line);
- :func:`measure`: one measurement in a child process (the calling script,
  with ``--child MODE --child-sites N --root DIR``), with the peak of the
  summed RSS of the child's whole process tree (Ray's GCS, raylet and workers
  included; sampled every 0.2 s; shared pages counted once per process that
  maps them: an upper bound) and the tree's user+system CPU seconds;
- :func:`growth`: a figure's growth per added site between the first and the
  last run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil
from _harness import REPO


def site_name(index: int) -> str:
    """The virtual site's name (its partition id, zero-padded)."""
    return f"site-{index:04d}"


def copy_sites(
    root: Path,
    templates: Sequence[Path],
    count: int,
    configure: Callable[[Path], None],
) -> list[Path]:
    """``count`` node stores under ``root/sites``, copied round-robin from ``templates``.

    Each copy is enrolled as its own site and then given to ``configure``
    (its privacy policy, say).
    """
    from node.consortium import Membership, consortium_dir

    sites = []
    for index in range(count):
        data_dir = root / "sites" / site_name(index)
        shutil.copytree(templates[index % len(templates)], data_dir)
        folder = consortium_dir(data_dir)
        folder.mkdir(exist_ok=True)
        membership = Membership(
            site_name(index), "http://x", "https://x", "127.0.0.1:9092", "1", "", ""
        )
        (folder / "enrollment.json").write_text(json.dumps(membership.to_json()))
        configure(data_dir)
        sites.append(data_dir)
    return sites


def run_on_simulation(
    server_main: Callable[[Any, Any], dict[str, Any]], sites_dir: Path, count: int
) -> tuple[dict[str, Any], float]:
    """Run ``server_main(grid, context)`` with ``count`` virtual sites; its result and wall s."""
    from flwr.app import Context, Message
    from flwr.clientapp import ClientApp
    from flwr.serverapp import Grid, ServerApp
    from flwr.simulation import run_simulation

    from node.clientapp import app as node_app

    class SiteClientApp(ClientApp):
        """The node's ClientApp, told its site's data path (a SuperNode's ``node_config``)."""

        def __call__(self, message: Message, context: Context) -> Message:
            site = site_name(int(context.node_config["partition-id"]))
            context.node_config = {
                **context.node_config,
                "data-path": str(sites_dir / site),
                "site": site,
            }
            return node_app(message, context)

    outcome: dict[str, Any] = {}
    server = ServerApp()

    @server.main()
    def main(grid: Grid, context: Context) -> None:
        outcome["result"] = server_main(grid, context)

    started = time.perf_counter()
    run_simulation(
        server_app=server,
        client_app=SiteClientApp(),
        num_supernodes=count,
        backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0}},
    )
    wall = time.perf_counter() - started
    result = outcome.get("result")
    if result is None:
        raise RuntimeError("the ServerApp did not finish its round; see the log above")
    return result, wall


def _tree_rss_and_cpu(pid: int) -> tuple[float, float]:
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0, 0.0
    rss = cpu = 0.0
    for process in processes:
        try:
            rss += process.memory_info().rss
            times = process.cpu_times()
            cpu += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            continue
    return rss / 2**20, cpu


def measure(
    script: Path, root: Path, mode: str, count: int, extra: Sequence[str] = ()
) -> dict[str, Any]:
    """Run ``script --child mode`` in a child; its ``RESULT`` line, peak tree RSS, tree CPU s."""
    from shared.flower_process import flower_environment

    env = flower_environment(root / "flwr-home" / f"{mode}-{count}")
    env["RAY_DEDUP_LOGS"] = "0"
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    command = [sys.executable, str(script), "--child", mode, "--child-sites", str(count)]
    command += ["--root", str(root), *extra]
    log = root / f"{mode}-{count}.log"
    peak = [0.0]
    cpu = [0.0]
    started = time.perf_counter()
    with open(log, "w") as handle:
        child = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                rss, seconds = _tree_rss_and_cpu(child.pid)
                peak[0] = max(peak[0], rss)
                cpu[0] = max(cpu[0], seconds)
                stop.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            child.wait(timeout=7200)
        finally:
            stop.set()
            sampler.join()
            if child.poll() is None:
                child.kill()
    wall = time.perf_counter() - started
    text = log.read_text(errors="replace")
    lines = [line for line in text.splitlines() if line.startswith("RESULT ")]
    if child.returncode != 0 or not lines:
        raise RuntimeError(f"{mode} with {count} sites failed:\n{text[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    result.update({"process_wall_s": wall, "peak_tree_rss_mib": peak[0], "tree_cpu_s": cpu[0]})
    return result


def growth(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    """``key``'s growth per added site between the first and the last row (None: one size)."""
    if len(rows) < 2 or rows[-1]["sites"] == rows[0]["sites"]:
        return None
    return float((rows[-1][key] - rows[0][key]) / (rows[-1]["sites"] - rows[0]["sites"]))
