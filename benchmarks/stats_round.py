"""A federated statistics round, 3 nodes on 127.0.0.1: SecAgg+ on and off, against the local sums.

Starts a real coordinator (``serve --flower``: SuperLink with TLS and SuperNode
authentication behind the Fleet proxy) and 3 enrolled nodes (each ``serve``
runs its SuperNode) with multi-reader Lung-RADS readings, then runs noise-free
stats rounds through ``harmonia-coordinator round stats``, alternately with
secure aggregation (the default: query, then SecAgg+'s four stages; no
per-site releases) and without it (``--no-secure-aggregation``: one query,
per-site releases, which every site's policy allows here). Reported per mode:
the ServerApp's wall time (push to result), the command's total wall time
(submit, ServerApp start, round, store), the bytes each site's ledger shows
released for the round (statistics, layout and SecAgg+ traffic, as the
gate's canonical bytes), and the ratios on/off measured in the same run.
Baseline, in the same run: the same per-label sums and figures computed
locally in one process from the three nodes' stores (plain, no Flower, no
gate). Both modes' figures must equal the baseline's exactly.
Run: ``python benchmarks/stats_round.py [--quick]`` (--quick: 1 round per mode instead of 3).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import emit, median, print_table

from node.egress import EgressLedger, Outcome
from node.store.database import create_database_engine
from tests.support.federation import Federation, running_federation
from tests.support.stats_sites import node_settings, union_figures

SITES = ("hosp-a", "hosp-b", "hosp-c")
MODES = {
    "secure": ("--no-per-site",),
    "plain": ("--no-secure-aggregation",),
}


def _ledger_bytes(data_dir: Path, round_id: str) -> int:
    engine = create_database_engine(node_settings(data_dir).resolved_database_url, durable=False)
    try:
        entries = EgressLedger(engine).entries(outcome=Outcome.RELEASED)
    finally:
        engine.dispose()
    return sum(e.byte_count for e in entries if e.round_id == round_id)


def _cpu_seconds(pids: list[int]) -> float:
    """CPU seconds of the process trees, reaped children (each ClientApp run) included."""
    import psutil

    total = 0.0
    for pid in pids:
        root = psutil.Process(pid)
        for process in (root, *root.children(recursive=True)):
            try:
                t = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + t.children_user + t.children_system
    return total


def _round(federation: Federation, mode: str) -> dict[str, Any]:
    pids = [federation.coordinator.pid, *(p.pid for p in federation.nodes.values())]
    before = _cpu_seconds(pids)
    result = federation.round("--no-noise", "--reply-timeout", "120", *MODES[mode])
    result["cpu_s"] = _cpu_seconds(pids) - before
    result["ledger_bytes"] = {
        site: _ledger_bytes(federation.node_dirs[site], result["round_id"]) for site in SITES
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round per mode instead of three")
    args = parser.parse_args()
    rounds = 1 if args.quick else 3
    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="harmonia-stats-bench-") as tmp:
        root = Path(tmp)
        started = time.monotonic()
        with running_federation(root, SITES, policy_epsilon=100.0) as federation:
            setup_s = time.monotonic() - started
            for _ in range(rounds):
                for mode in MODES:
                    results[mode].append(_round(federation, mode))
            baseline = []
            for _ in range(rounds):
                begin = time.perf_counter()
                reference = union_figures(list(federation.node_dirs.values()))
                baseline.append(time.perf_counter() - begin)
    summary: dict[str, dict[str, Any]] = {}
    for mode, runs in results.items():
        summary[mode] = {
            "exact": all(r["figures"]["lung-rads"] == reference["lung-rads"] for r in runs),
            "answered": all(r["answered"] == list(SITES) for r in runs),
            "round_s": median([r["wall_time_s"] for r in runs]),
            "total_s": median([r["total_wall_time_s"] for r in runs]),
            "bytes": runs[-1]["ledger_bytes"],
            "cpu_s": median([r["cpu_s"] for r in runs]),
        }
    secure, plain = summary["secure"], summary["plain"]
    local_s = median(baseline)
    print_table(
        "Stats round, 3 nodes on 127.0.0.1 (noise off), SecAgg+ on vs off",
        ["measure", "SecAgg+ on", "off (per-site)", "on/off"],
        [
            [
                "round: ServerApp push -> result (median s)",
                f"{secure['round_s']:.2f}",
                f"{plain['round_s']:.2f}",
                f"{secure['round_s'] / plain['round_s']:.2f}",
            ],
            [
                "'round stats' command total (median s)",
                f"{secure['total_s']:.2f}",
                f"{plain['total_s']:.2f}",
                f"{secure['total_s'] / plain['total_s']:.2f}",
            ],
            [
                "CPU of coordinator + nodes (process trees, median s)",
                f"{secure['cpu_s']:.1f}",
                f"{plain['cpu_s']:.1f}",
                f"{secure['cpu_s'] / plain['cpu_s']:.2f}",
            ],
            *[
                [
                    f"bytes released by {site} (ledger)",
                    secure["bytes"][site],
                    plain["bytes"][site],
                    f"{secure['bytes'][site] / plain['bytes'][site]:.2f}",
                ]
                for site in SITES
            ],
            ["figures equal the local baseline", secure["exact"], plain["exact"], ""],
        ],
    )
    print_table(
        "Setup and baseline",
        ["measure", "seconds"],
        [
            ["federation setup (coordinator, enroll, annotate, serve)", f"{setup_s:.1f}"],
            ["baseline: same sums locally, one process (median)", f"{local_s:.3f}"],
        ],
    )
    emit(
        {
            "benchmark": "stats_round",
            "quick": args.quick,
            "rounds": rounds,
            "sites": len(SITES),
            "all_answered": secure["answered"] and plain["answered"],
            "figures_equal_baseline": secure["exact"] and plain["exact"],
            "round_wall_s": round(secure["round_s"], 3),
            "command_wall_s": round(secure["total_s"], 3),
            "plain_round_wall_s": round(plain["round_s"], 3),
            "plain_command_wall_s": round(plain["total_s"], 3),
            "ratio_secure_vs_plain_round": round(secure["round_s"] / plain["round_s"], 2),
            "cpu_s": round(secure["cpu_s"], 1),
            "plain_cpu_s": round(plain["cpu_s"], 1),
            "ratio_secure_vs_plain_cpu": round(secure["cpu_s"] / plain["cpu_s"], 2),
            "baseline_local_s": round(local_s, 4),
            "ratio_round_vs_local": round(secure["round_s"] / local_s, 1) if local_s else None,
            "bytes_per_site": secure["bytes"],
            "plain_bytes_per_site": plain["bytes"],
            "ratio_secure_vs_plain_bytes": {
                site: round(secure["bytes"][site] / plain["bytes"][site], 2) for site in SITES
            },
            "setup_s": round(setup_s, 1),
        }
    )


if __name__ == "__main__":
    main()
