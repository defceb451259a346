"""Federated training overhead: Flower's fixed cost per round before and after, and four ratios.

One federation of real processes on 127.0.0.1 (``tests.support.federation``:
a coordinator with its SuperLink behind the Fleet proxy, 3 enrolled nodes,
each running its SuperNode and learning service; TLS, node authentication)
and one ``harmonia-coordinator round train`` run per configuration:

``before``
    Flower's defaults for the round itself: ``grid.send_and_receive`` (3 s
    polls), the ClientApp doing the torch work in its own per-message
    ``flwr-clientapp`` process (``--in-process``: torch imported, data
    loaded, model built per message), and Flower's own ``flower-supernode``
    (its 3 s between pulls and 0.5 s looks for the reply; the nodes are
    restarted with ``HARMONIA_NODE_FLOWER_SUPERNODE_LAUNCHER=false`` for this
    run, which goes last). The SuperExecs keep Harmonia's 0.2 s task poll
    (``FLWR_SUPEREXEC_TASK_POLL_INTERVAL``, Flower's default 1 s costs up to
    0.8 s more per message and side) — the harness starts every Flower
    process through ``shared.flower_process``.
``after``
    The product path: push + 0.1 s pull loop, torch-free ClientApp, the
    node's persistent learning service (torch, data and model kept loaded),
    and the node's SuperNode launcher (``node.supernode_launcher``: 0.5 s
    between pulls during a run, 0.05 s looks for the reply, the ClientApp
    process started without the SuperNode's imports).
``after-secagg``
    The same under SecAgg+ (4 protocol stages, FastGrid 0.1 s polls).
``local``
    The same training without the federation: ``train_local`` on each site's
    data in this process, with DP-SGD and without it (the egress gate
    releases no model update without DP, so a federated round without DP
    does not exist; DP changes only the compute).

**Restarting a node** (between ``after-secagg`` and ``before``): ``east`` is
stopped with SIGTERM and started again, killed with SIGKILL and started again,
and its SuperNode alone is killed (its supervision starts it again after 3 s,
well before its registration's heartbeat lapses); each time the seconds until
the node is healthy and until its SuperNode is let in by the SuperLink, how
many SuperNode starts the SuperLink refused in between (a registration left
online by a SuperNode that did not leave is refused until its heartbeat lapses,
up to 60 s), and whether the launcher found and deactivated such a stale
registration (``stale_deactivated``).

**Fixed cost of a round** = the round's wall time on the ServerApp minus the
slowest site's compute, which each node measures inside its learning service
(``DATA_DIR/learn/timings.jsonl``: ``train_local`` plus the evaluation of the
received weights; data loading reported apart). Bytes per round come from the
nodes' egress ledgers (everything released under the round's id). CPU is the
whole tree's (coordinator, nodes, SuperNodes, ClientApp processes, services).

Ratios: a federated round's wall time against the same local training alone
(the slowest site's compute); bytes per site and round against the model's
size (float32); SecAgg+ on against off (round wall time); DP on against off
(local training compute, and the round wall time that compute implies).

``--quick``: one round per configuration, tiny model and data (2 cases per
site); ends with one JSON line. SecAgg+ needs at least 3 nodes, so the quick
run keeps 3; what it costs is the federation's setup (``setup_s``) and the
three runs' processes, not their training.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import emit, median, print_table
from stats_round import _cpu_seconds  # CPU of process trees, reaped ClientApps included

from node.egress import EgressLedger, Outcome
from node.store.database import create_database_engine
from tests.support.federation import Federation, environment, running_federation
from tests.support.learn_sites import PROJECT, default_recipes, prepare_learning_site, tiny_plan

SITES = ("north", "south", "east")
PLAN = tiny_plan(name="overhead-seg")
CONFIGS: dict[str, dict[str, Any]] = {
    "after": {"args": [], "privacy": True, "node_env": {}},
    "after-secagg": {"args": ["--secure-aggregation"], "privacy": True, "node_env": {}},
    "before": {
        "args": ["--exchange", "send-and-receive", "--in-process"],
        "privacy": True,
        "node_env": {"HARMONIA_NODE_FLOWER_SUPERNODE_LAUNCHER": "false"},
    },
}
"""``before`` runs last: it restarts the nodes with Flower's own SuperNode."""


def _prepare(cases: int):  # type: ignore[no-untyped-def]
    def prepare(data_dir: Path, index: int) -> None:
        prepare_learning_site(data_dir, default_recipes()[index], cases=cases)
        (data_dir / "training-policy.json").write_text(
            json.dumps({"epsilon": 1000.0, "delta": 0.1, "release_site_metrics": False})
        )

    return prepare


def _ledger_bytes(data_dir: Path, round_id: str) -> int:
    url = f"sqlite:///{data_dir / 'node.sqlite3'}"
    engine = create_database_engine(url, durable=False)
    try:
        entries = EgressLedger(engine).entries(outcome=Outcome.RELEASED)
    finally:
        engine.dispose()
    return sum(e.byte_count for e in entries if e.round_id == round_id)


def _timings(data_dir: Path, round_id: str) -> dict[str, float]:
    path = data_dir / "learn" / "timings.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    mine = [x for x in lines if x["round_id"] == round_id and x["op"] == "train"]
    return {
        "compute_s": sum(x["compute_s"] for x in mine),
        "load_s": sum(x["load_s"] for x in mine),
    }


def _model_bytes(run_dir: Path) -> int:
    from shared.weights import decode_weights

    arrays, _ = decode_weights((run_dir / "initial.weights").read_bytes())
    return sum(int(a.size) * 4 for a in arrays.values())


def _local_compute(data_dir: Path, plan_json: dict[str, Any]) -> float:
    """Seconds of ``train_local`` on ``data_dir``'s consensus (data loaded first, not timed)."""
    from node.learn.data import load_training_data
    from node.learn.round_work import RoundWork
    from node.learn.training import train_local
    from shared.models import build_model, model_weights
    from shared.schemas.training import TrainingPlan

    plan = TrainingPlan.model_validate(plan_json)
    work = RoundWork(data_dir)
    data = load_training_data(work.settings, PROJECT, plan)
    weights = model_weights(build_model(plan, seed=1))
    started = time.perf_counter()
    train_local(
        data_dir,
        PROJECT,
        plan,
        weights,
        round_id="benchmark-local",
        settings=work.settings,
        data=data,
        gate=work.gate() if plan.privacy is not None else None,
    )
    return time.perf_counter() - started


def _run(federation: Federation, root: Path, name: str, rounds: int) -> dict[str, Any]:
    config = CONFIGS[name]
    plan = dict(PLAN)
    if not config["privacy"]:
        plan.pop("privacy")
    plan_path = root / f"plan-{name}.json"
    plan_path.write_text(json.dumps(plan))
    for site in SITES:  # restarted only when the configuration needs other settings
        federation.use_settings(site, config["node_env"])
    pids = [federation.coordinator.pid, *(p.pid for p in federation.nodes.values())]
    cpu_before = _cpu_seconds(pids)
    started = time.perf_counter()
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "coordinator.cli", "round", "train"),
            *("--data-dir", str(federation.coordinator_dir), "--plan", str(plan_path)),
            *("--project", PROJECT, "--rounds", str(rounds), "--min-sites", "3"),
            *("--wait-nodes", "90", "--rejoin-wait", "30", "--reply-timeout", "600"),
            *config["args"],
        ],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=3600,
        check=False,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{name}: round train failed\n{completed.stdout}\n{completed.stderr}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    run_dir = Path(result["weights_path"]).parent
    per_round = []
    for entry in result["history"]:
        round_id = f"{result['run_id']}.r{entry['round']}"
        timings = {s: _timings(federation.node_dirs[s], round_id) for s in SITES}
        slowest = max(t["compute_s"] for t in timings.values())
        sent = {s: _ledger_bytes(federation.node_dirs[s], round_id) for s in SITES}
        per_round.append(
            {
                "round": entry["round"],
                "wall_s": entry["wall_s"],
                "slowest_compute_s": slowest,
                "load_s": max(t["load_s"] for t in timings.values()),
                "fixed_s": entry["wall_s"] - slowest,
                "bytes_per_site": sum(sent.values()) / len(sent),
            }
        )
    return {
        "config": name,
        "run_wall_s": wall,
        "server_wall_s": result.get("wall_time_s"),
        "cpu_s": _cpu_seconds(pids) - cpu_before,
        "rounds": per_round,
        "model_bytes": _model_bytes(run_dir),
        "round_wall_s": median([r["wall_s"] for r in per_round]),
        "fixed_s": median([r["fixed_s"] for r in per_round]),
        "compute_s": median([r["slowest_compute_s"] for r in per_round]),
        "bytes_per_site": median([r["bytes_per_site"] for r in per_round]),
    }


REJOINS = ("graceful", "killed", "supernode-killed")
"""How ``east`` is restarted between the runs: SIGTERM to its ``serve``, SIGKILL to its
``serve``, SIGKILL to its SuperNode alone (its supervision starts it again 3 s later)."""


def _supernode_pid(federation: Federation, site: str) -> int:
    import psutil

    for child in psutil.Process(federation.nodes[site].pid).children(recursive=True):
        if "node.supernode_launcher" in child.cmdline():
            return int(child.pid)
    raise SystemExit(f"{site}'s SuperNode launcher process was not found")


def _rejoin(federation: Federation, site: str, kind: str) -> dict[str, float | int]:
    """Restart ``site``'s node; seconds until it is healthy and its SuperNode is let in again.

    ``refused_starts``: the SuperNode starts the SuperLink refused in between
    ("Failed to activate SuperNode": the previous registration still online).
    """
    log = federation.node_dirs[site] / "flower" / "supernode.log"
    offset = log.stat().st_size
    started = time.perf_counter()
    if kind == "killed":
        federation.nodes[site].kill()  # SIGKILL: its SuperNode dies with it, without leaving
        federation.nodes[site].wait(timeout=60)
        federation.start_node(site, {})
    elif kind == "supernode-killed":  # the SuperNode alone, restarted before its heartbeat lapses
        os.kill(_supernode_pid(federation, site), signal.SIGKILL)
    else:
        federation.restart_node(site, {})  # SIGTERM, as a service manager stops it
    healthy = time.perf_counter() - started
    deadline = time.monotonic() + 300
    while b"SuperNode ID:" not in log.read_bytes()[offset:]:
        if time.monotonic() > deadline:
            raise SystemExit(f"{site}'s SuperNode did not connect again: see {log}")
        time.sleep(0.2)
    connected = time.perf_counter() - started
    federation.wait_ready([site])
    text = log.read_bytes()[offset:].decode("utf-8", errors="replace")
    return {
        "healthy_s": healthy,
        "connected_s": connected,
        "refused_starts": text.count("Failed to activate SuperNode"),
        "stale_deactivated": text.count("had not left the SuperLink"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round per configuration")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument(
        "--keep", type=Path, default=None, help="run in this new folder and keep it (the logs)"
    )
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    cases = 2 if args.quick else 4
    with contextlib.ExitStack() as stack:
        if args.keep is None:
            root = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="harmonia-overhead-"))
            )
        else:
            args.keep.mkdir(parents=True)
            root = args.keep
        setup = time.perf_counter()
        with running_federation(root, SITES, prepare=_prepare(cases)) as federation:
            setup_s = time.perf_counter() - setup
            runs = {
                name: _run(federation, root, name, rounds) for name in CONFIGS if name != "before"
            }
            restart = {kind: _rejoin(federation, "east", kind) for kind in REJOINS}
            runs["before"] = _run(federation, root, "before", rounds)
            without_dp = {k: v for k, v in PLAN.items() if k != "privacy"}
            local = {
                "dp": max(_local_compute(federation.node_dirs[s], PLAN) for s in SITES),
                "no_dp": max(_local_compute(federation.node_dirs[s], without_dp) for s in SITES),
            }
    before, after = runs["before"], runs["after"]
    after_without_dp = after["round_wall_s"] - after["compute_s"] + local["no_dp"]
    ratios = {
        "fixed_cost_before_over_after": before["fixed_s"] / after["fixed_s"],
        "federated_round_over_local_training": after["round_wall_s"] / local["dp"],
        "bytes_per_site_round_over_model_size": after["bytes_per_site"] / after["model_bytes"],
        "secagg_on_over_off": runs["after-secagg"]["round_wall_s"] / after["round_wall_s"],
        "dp_on_over_off_compute": local["dp"] / local["no_dp"],
        "dp_on_over_off_round": after["round_wall_s"] / after_without_dp,
    }
    rows = [
        [
            name,
            f"{r['round_wall_s']:.2f}",
            f"{r['compute_s']:.2f}",
            f"{r['fixed_s']:.2f}",
            f"{r['bytes_per_site'] / 1024:.1f}",
            f"{r['cpu_s']:.1f}",
            f"{r['run_wall_s']:.1f}",
        ]
        for name, r in runs.items()
    ]
    print_table(
        f"Federated round overhead, 3 nodes on 127.0.0.1, {rounds} round(s) per configuration "
        f"(model {after['model_bytes'] / 1024:.1f} KiB float32; setup {setup_s:.0f} s)",
        [
            "config",
            "round wall s",
            "slowest compute s",
            "fixed s",
            "KiB/site/round",
            "CPU s (tree)",
            "run wall s",
        ],
        rows,
    )
    print_table(
        "Local training alone (slowest site, this process)",
        ["DP-SGD", "seconds"],
        [["on", f"{local['dp']:.2f}"], ["off", f"{local['no_dp']:.2f}"]],
    )
    print_table(
        "Restarting a node (east) between the runs",
        ["stopped with", "healthy after s", "SuperNode let in after s", "starts refused", "stale"],
        [
            [
                kind,
                f"{r['healthy_s']:.1f}",
                f"{r['connected_s']:.1f}",
                str(r["refused_starts"]),
                str(r["stale_deactivated"]),
            ]
            for kind, r in restart.items()
        ],
    )
    print_table("Ratios", ["ratio", "value"], [[k, f"{v:.3f}"] for k, v in ratios.items()])
    emit(
        {
            "benchmark": "federated_overhead",
            "quick": args.quick,
            "rounds": rounds,
            "sites": len(SITES),
            "setup_s": setup_s,
            "runs": runs,
            "local_training_s": local,
            "restart": restart,
            "fixed_cost_before_s": before["fixed_s"],
            "fixed_cost_after_s": after["fixed_s"],
            "ratios": {k: (v if math.isfinite(v) else None) for k, v in ratios.items()},
        }
    )


if __name__ == "__main__":
    main()
