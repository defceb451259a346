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
- :func:`ray_head`: one Ray head (``ray start --head --block``, a child
  process with its own temporary directory, so no other Ray user on the
  machine finds it) that every measurement of a run connects to, instead of
  each starting and stopping Ray: the start is paid once per run and
  reported apart (``start_wall_s``, ``start_cpu_s``);
- :func:`measure`: one measurement in a child process (the calling script,
  with ``--child MODE --child-sites N --root DIR``), with the peak of the
  summed RSS of the child's whole process tree (Ray's GCS, raylet and workers
  included; sampled every 0.2 s; shared pages counted once per process that
  maps them: an upper bound) and the tree's user+system CPU seconds. Given a
  :class:`RayHead`, the head's process tree is counted with the child's: its
  whole RSS (the round needs the idle head's memory too) and the CPU it spent
  during the measurement (what it had spent before, its start, is not);
- :func:`growth`: a figure's growth per added site between the first and the
  last run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
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
        import ray

        outcome["result"] = server_main(grid, context)
        # the Ray cluster the sites' replies came through (measure() checks that a child
        # joined the run's head); the engine starts Ray beside this thread, so ask at the end
        if ray.is_initialized():
            print(f"RAY-CLUSTER {ray.get_runtime_context().gcs_address}", flush=True)

    started = time.perf_counter()
    try:
        run_simulation(
            server_app=server,
            client_app=SiteClientApp(),
            num_supernodes=count,
            backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0}},
        )
    except Exception:
        # The engine failed (e.g. Ray did not start): the ServerApp's thread, not a daemon,
        # would keep this process alive until its reply timeout (hours). End it now.
        traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(3)
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


def _environment(flwr_home: Path) -> dict[str, str]:
    from shared.flower_process import flower_environment

    env = flower_environment(flwr_home)
    env["RAY_DEDUP_LOGS"] = "0"
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@dataclass(frozen=True)
class RayHead:
    """A running Ray head: its ``ray start`` process, GCS address and what starting it cost."""

    process: subprocess.Popen[bytes]
    address: str
    start_wall_s: float
    start_cpu_s: float

    @property
    def port(self) -> str:
        """The GCS's port."""
        return self.address.rpartition(":")[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def ray_head(root: Path, deadline_s: float = 600, attempts: int = 3) -> Iterator[RayHead]:
    """One Ray head on 127.0.0.1 (one CPU resource per core, no dashboard) for a whole run.

    Stopped by its PID on exit (``ray start --block`` then stops the
    processes it started). A start that fails is tried again, ``attempts``
    times in all. Its temporary directory is its own and short (Ray
    puts sockets there), so a ``ray.init()`` elsewhere on the machine starts
    its own cluster instead of joining this one.
    """
    started = time.perf_counter()
    for attempt in range(1, attempts + 1):
        temp_dir = Path(tempfile.mkdtemp(prefix="hray-", dir="/tmp"))
        port = _free_port()
        process, log = _start_head(root, temp_dir, port, attempt)
        try:
            end = time.monotonic() + deadline_s
            while b"Ray runtime started" not in log.read_bytes():
                if process.poll() is not None or time.monotonic() > end:
                    break
                time.sleep(0.2)
            else:
                wall = time.perf_counter() - started
                _, cpu = _tree_rss_and_cpu(process.pid)
                yield RayHead(process, f"127.0.0.1:{port}", wall, cpu)
                return
        finally:
            _stop_head(process)
            shutil.rmtree(temp_dir, ignore_errors=True)
        # Ray gives its raylet a fixed 30 s to register: a loaded machine can miss it
        print(f"the Ray head did not start (attempt {attempt}): see {log}", flush=True)
    raise RuntimeError(f"the Ray head did not start:\n{log.read_text()[-4000:]}")


def _terminate_with_parent() -> None:
    """In the child, before exec: get SIGTERM when this process dies, even by SIGKILL (Linux).

    A benchmark killed from outside (a test's timeout) then leaves no Ray head
    or measurement child behind; the head's SIGTERM stops the processes it started.
    """
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start_head(
    root: Path, temp_dir: Path, port: int, attempt: int
) -> tuple[subprocess.Popen[bytes], Path]:
    command = [
        *(sys.executable, "-c", "from ray.scripts.scripts import main; main()"),
        *("start", "--head", "--block", "--disable-usage-stats", "--include-dashboard=false"),
        *("--node-ip-address", "127.0.0.1", "--port", str(port)),
        *("--num-cpus", str(os.cpu_count() or 1), "--num-gpus", "0"),
        *("--dashboard-agent-listen-port", str(_free_port())),
        *("--ray-client-server-port", str(_free_port())),
        *("--temp-dir", str(temp_dir)),
    ]
    log = root / f"ray-head-{attempt}.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=_environment(root / "flwr-home"),
            preexec_fn=_terminate_with_parent,
        )
    return process, log


def _stop_head(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM: ``ray start --block`` then stops every process it started."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure(
    script: Path,
    root: Path,
    mode: str,
    count: int,
    extra: Sequence[str] = (),
    head: RayHead | None = None,
) -> dict[str, Any]:
    """Run ``script --child mode`` in a child; its ``RESULT`` line, peak tree RSS, tree CPU s.

    With ``head``, the child's Ray connects to it (``RAY_ADDRESS``) and the
    head's tree is counted too (see the module docstring).
    """
    env = _environment(root / "flwr-home" / f"{mode}-{count}")
    if head is not None:
        env["RAY_ADDRESS"] = head.address
    head_cpu_before = _tree_rss_and_cpu(head.process.pid)[1] if head is not None else 0.0
    command = [sys.executable, str(script), "--child", mode, "--child-sites", str(count)]
    command += ["--root", str(root), *extra]
    log = root / f"{mode}-{count}.log"
    peak = [0.0]
    cpu = [0.0]
    started = time.perf_counter()
    with open(log, "w") as handle:
        child = subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_terminate_with_parent,
        )
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                rss, seconds = _tree_rss_and_cpu(child.pid)
                if head is not None:
                    head_rss, head_cpu = _tree_rss_and_cpu(head.process.pid)
                    rss += head_rss
                    seconds += max(head_cpu - head_cpu_before, 0.0)
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
    seen = [line.split()[-1] for line in text.splitlines() if line.startswith("RAY-CLUSTER ")]
    # the GCS's port is the head's own (its host reads as this machine's address or 127.0.0.1)
    if head is not None and [a.rpartition(":")[2] for a in seen] != [head.port]:
        raise RuntimeError(
            f"{mode} with {count} sites did not run on the Ray head {head.address} "
            f"(it ran on {seen or 'an unknown cluster'}):\n{text[-4000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    result.update({"process_wall_s": wall, "peak_tree_rss_mib": peak[0], "tree_cpu_s": cpu[0]})
    # at once: a long run stopped later still has each finished measurement's figures
    print(
        f"measured {mode}, {count} sites: {wall:.1f} s wall, {cpu[0]:.2f} CPU s, "
        f"peak tree RSS {peak[0]:.0f} MiB",
        flush=True,
    )
    return result


def growth(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    """``key``'s growth per added site between the first and the last row (None: one size)."""
    if len(rows) < 2 or rows[-1]["sites"] == rows[0]["sites"]:
        return None
    return float((rows[-1][key] - rows[0][key]) / (rows[-1]["sites"] - rows[0]["sites"]))
