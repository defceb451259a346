"""A federated statistics round with 3 nodes on 127.0.0.1, against the same sums in one process.

Starts a real coordinator (``serve --flower``: SuperLink with TLS and SuperNode
authentication behind the Fleet proxy) and 3 enrolled nodes (each ``serve``
runs its SuperNode) with multi-reader Lung-RADS readings, then runs noise-free
stats rounds through ``harmonia-coordinator round stats``. Reported per round:
the ServerApp's wall time (push to last reply), the command's total wall time
(submit, ServerApp start, round, store) and the bytes each site released.
Baseline, in the same run: the same per-label sums and figures computed
locally in one process from the three nodes' stores (plain, no Flower, no
gate). The round's figures must equal the baseline's exactly.
Run: ``python benchmarks/stats_round.py [--quick]`` (--quick: 1 round instead of 3).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _harness import emit, median, print_table

from tests.support.federation import running_federation
from tests.support.stats_sites import union_figures

SITES = ("hosp-a", "hosp-b", "hosp-c")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round instead of three")
    args = parser.parse_args()
    rounds = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="harmonia-stats-bench-") as tmp:
        root = Path(tmp)
        started = time.monotonic()
        with running_federation(root, SITES, policy_epsilon=100.0) as federation:
            setup_s = time.monotonic() - started
            results = [
                federation.round("--no-noise", "--reply-timeout", "120") for _ in range(rounds)
            ]
            baseline = []
            for _ in range(rounds):
                begin = time.perf_counter()
                reference = union_figures(list(federation.node_dirs.values()))
                baseline.append(time.perf_counter() - begin)
    exact = all(r["figures"]["lung-rads"] == reference["lung-rads"] for r in results)
    answered = all(r["answered"] == list(SITES) for r in results)
    round_s = median([r["wall_time_s"] for r in results])
    total_s = median([r["total_wall_time_s"] for r in results])
    local_s = median(baseline)
    bytes_per_site = {site: results[-1]["sites"][site]["bytes_total"] for site in SITES}
    print_table(
        "Stats round, 3 nodes on 127.0.0.1 (noise off)",
        ["measure", "seconds"],
        [
            ["federation setup (coordinator, enroll, annotate, serve)", f"{setup_s:.1f}"],
            ["round: ServerApp push -> last reply (median)", f"{round_s:.2f}"],
            ["round: 'round stats' command total (median)", f"{total_s:.2f}"],
            ["baseline: same sums locally, one process (median)", f"{local_s:.3f}"],
        ],
    )
    print_table(
        "Bytes released per site (agreement + diversity)",
        ["site", "bytes"],
        [[site, count] for site, count in bytes_per_site.items()],
    )
    emit(
        {
            "benchmark": "stats_round",
            "quick": args.quick,
            "rounds": rounds,
            "sites": len(SITES),
            "all_answered": answered,
            "figures_equal_baseline": exact,
            "round_wall_s": round(round_s, 3),
            "command_wall_s": round(total_s, 3),
            "baseline_local_s": round(local_s, 4),
            "ratio_round_vs_local": round(round_s / local_s, 1) if local_s else None,
            "bytes_per_site": bytes_per_site,
            "setup_s": round(setup_s, 1),
        }
    )


if __name__ == "__main__":
    main()
