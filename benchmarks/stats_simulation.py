"""A statistics round with N virtual sites on Flower's Simulation Engine, against one process.

Every virtual site is a real node store: three node data directories are
filled through the node's own domain (phantom CT series ingested, the example
guideline, a project and the Lung-RADS readings of 2–3 readers per task,
``tests/support/stats_sites.py``) and copied once per site, each copy with its
own enrollment and statistics policy, so each site keeps its own SQLite
store, egress ledger and privacy budget. The round is the real one:
``coordinator.serverapp.run_round`` (push, fast pull loop, pooling) in a
ServerApp, and the node's real ClientApp (``node.clientapp.app``: its mods,
``node.stats`` computing, noising and charging the statistics, the egress
gate ledgering them) in Flower's Simulation Engine (Ray). The only change to
the node's side is a wrapper that gives each virtual SuperNode its site's
``data-path`` and ``site`` in ``node_config`` (a SuperNode gets them from its
command line).

Baseline, in the same run: the same per-site work in one process without
Flower (``node.stats.release_statistics`` on each store, then the same
pooling), with the same noise seed, so the pooled figures must be equal.

Each measurement runs in its own child process; time is wall time, memory the
peak of the summed RSS of the child's whole process tree (Ray's GCS, raylet
and workers included), sampled every 0.2 s (shared pages, e.g. Ray's object
store, are counted once per process that maps them: an upper bound), CPU the
tree's user+system seconds. On a busy machine the wall times swing with the
load; CPU seconds, and their growth per added site, are the steadier figures.

Run: ``python benchmarks/stats_simulation.py [--sites 100 | --sites 10,100] [--quick]
[--secure]`` (``--quick``, the CI size: 3 sites, one copy of each template;
``--secure``: the round sums under SecAgg+ as well, which the baseline does not
do).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import emit, print_table
from _simulation import copy_sites, run_on_simulation, site_name
from _simulation import growth as growth_per_site
from _simulation import measure as measure_child

from tests.support.stats_sites import PLANS, PROJECT, prepare_site, write_policy

NOISE_MULTIPLIER = 4.0
DELTA = 1e-6
SEED = 7
TEMPLATES = tuple(PLANS)  # the three sites' readings, copied round-robin


def prepare_sites(root: Path, count: int) -> list[Path]:
    """``count`` node stores under ``root``: copies of three templates, each enrolled alone."""
    templates = []
    for index, plan in enumerate(TEMPLATES):
        template = root / "templates" / plan
        prepare_site(template, PLANS[plan], seed=index)
        templates.append(template)
    # room for every run of the benchmark
    return copy_sites(root, templates, count, lambda d: write_policy(d, epsilon=1e6, delta=0.5))


# -- the two measured runs (each in a child process) -------------------------------------------


def _figures_json(
    figures: dict[str, dict[str, float | None]],
) -> dict[str, dict[str, float | None]]:
    return {
        label: {k: (None if v is None else round(float(v), 9)) for k, v in row.items()}
        for label, row in figures.items()
    }


def run_baseline(root: Path, count: int, round_id: str) -> dict[str, Any]:
    """Each site's release through ``node.stats`` and the same pooling, in this process."""
    from coordinator.rounds import SiteStatistics, label_figures, pool_agreement, pool_histograms
    from node.egress import decode_payload
    from node.stats import StatisticsRequest, release_statistics

    started = time.perf_counter()
    request = StatisticsRequest(
        project=PROJECT,
        round_id=round_id,
        noise=True,
        noise_multiplier=NOISE_MULTIPLIER,
        delta=DELTA,
        seed=SEED,
    )
    answered = []
    released_bytes = 0
    for index in range(count):
        releases = release_statistics(root / "sites" / site_name(index), request)
        agreement = []
        histograms: dict[str, Any] = {}
        for release in releases:
            released_bytes += len(release.data)
            payload = decode_payload(release.data)
            if release.kind == "agreement_statistics":
                agreement = [
                    (e["label"], e["statistic"], e["arrays"]) for e in payload["statistics"]
                ]
            else:
                histograms = dict(payload["histograms"])
        answered.append(SiteStatistics(site_name(index), agreement, histograms))
    pooled = pool_agreement(answered)
    figures = label_figures(pooled)
    pool_histograms(answered)
    return {
        "wall_s": time.perf_counter() - started,
        "answered": len(answered),
        "bytes": released_bytes,
        "figures": _figures_json(figures),
    }


def run_simulation_round(root: Path, count: int, round_id: str, *, secure: bool) -> dict[str, Any]:
    """The real round on Flower's Simulation Engine with ``count`` virtual SuperNodes."""
    from coordinator.serverapp.app import run_round

    config = {
        "project": PROJECT,
        "round-id": round_id,
        "expected-nodes": count,
        "wait-nodes-s": 600.0,
        "reply-timeout-s": 1800.0,
        "secagg-timeout-s": 1800.0,
        "noise": True,
        "noise-multiplier": NOISE_MULTIPLIER,
        "delta": DELTA,
        "seed": SEED,
        "per-site": True,
        "secure-aggregation": secure,
    }
    result, wall = run_on_simulation(
        lambda grid, _context: run_round(grid, config), root / "sites", count
    )
    return {
        "wall_s": wall,
        "round_s": float(result["wall_time_s"]),
        "answered": len(result["answered"]),
        "missing": result["missing"],
        "bytes": sum(int(s.get("bytes_total", 0)) for s in result["sites"].values()),
        "figures": _figures_json(result.get("figures", {})),
    }


def _child(args: argparse.Namespace) -> None:
    root = Path(args.root)
    round_id = f"bench-{args.child}-{args.child_sites}"
    if args.child == "baseline":
        out = run_baseline(root, args.child_sites, round_id)
    else:
        out = run_simulation_round(root, args.child_sites, round_id, secure=args.secure)
    print("RESULT " + json.dumps(out), flush=True)


# -- the parent: one child per measurement, whole-tree memory ----------------------------------


def measure(root: Path, mode: str, count: int, *, secure: bool) -> dict[str, Any]:
    """Run one measurement in a child; its result, peak tree RSS and tree CPU seconds."""
    return measure_child(
        Path(__file__).resolve(), root, mode, count, ["--secure"] if secure else []
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", default="100", help="virtual sites, or a list: 10,100,500")
    parser.add_argument("--quick", action="store_true", help="3 virtual sites (CI)")
    parser.add_argument("--secure", action="store_true", help="also sum under SecAgg+")
    parser.add_argument("--child", choices=["baseline", "simulation"], help=argparse.SUPPRESS)
    parser.add_argument("--child-sites", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    counts = [3] if args.quick else sorted({int(n) for n in args.sites.split(",")})
    rows = []
    with tempfile.TemporaryDirectory(prefix="harmonia-sim-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        prepare_sites(root, max(counts))
        setup_s = time.perf_counter() - started
        for count in counts:
            baseline = measure(root, "baseline", count, secure=False)
            simulation = measure(root, "simulation", count, secure=args.secure)
            rows.append(
                {
                    "sites": count,
                    "answered": simulation["answered"],
                    "missing": len(simulation["missing"]),
                    "figures_equal_baseline": None
                    if args.secure  # secure sums are computed another way
                    else simulation["figures"] == baseline["figures"],
                    "simulation_wall_s": round(simulation["wall_s"], 2),
                    "round_s": round(simulation["round_s"], 2),
                    "simulation_peak_rss_mib": round(simulation["peak_tree_rss_mib"], 1),
                    "simulation_cpu_s": round(simulation["tree_cpu_s"], 2),
                    "baseline_s": round(baseline["wall_s"], 3),
                    "baseline_peak_rss_mib": round(baseline["peak_tree_rss_mib"], 1),
                    "baseline_cpu_s": round(baseline["tree_cpu_s"], 2),
                    "bytes_per_site": round(simulation["bytes"] / max(simulation["answered"], 1)),
                    "ratio_round_vs_baseline": round(simulation["round_s"] / baseline["wall_s"], 1),
                    "ratio_wall_vs_baseline": round(simulation["wall_s"] / baseline["wall_s"], 1),
                    "ratio_rss_vs_baseline": round(
                        simulation["peak_tree_rss_mib"] / baseline["peak_tree_rss_mib"], 1
                    ),
                }
            )
    print_table(
        f"Statistics round on Flower's Simulation Engine ({os.cpu_count()} CPUs, Ray actors of "
        f"1 CPU each; {'SecAgg+ and ' if args.secure else ''}per-site noised releases; "
        f"site stores prepared in {setup_s:.0f} s)",
        [
            "sites",
            "answered",
            "run_simulation s",
            "round s",
            "baseline s",
            "round/baseline",
            "peak RSS MiB (sim / base)",
            "CPU s (sim / base)",
            "figures equal",
        ],
        [
            [
                r["sites"],
                r["answered"],
                r["simulation_wall_s"],
                r["round_s"],
                r["baseline_s"],
                r["ratio_round_vs_baseline"],
                f"{r['simulation_peak_rss_mib']:.0f} / {r['baseline_peak_rss_mib']:.0f}",
                f"{r['simulation_cpu_s']:.1f} / {r['baseline_cpu_s']:.1f}",
                r["figures_equal_baseline"],
            ]
            for r in rows
        ],
    )
    growth = {
        "round_s_per_site": growth_per_site(rows, "round_s"),
        "simulation_wall_s_per_site": growth_per_site(rows, "simulation_wall_s"),
        "peak_rss_mib_per_site": growth_per_site(rows, "simulation_peak_rss_mib"),
        "baseline_s_per_site": growth_per_site(rows, "baseline_s"),
        "simulation_cpu_s_per_site": growth_per_site(rows, "simulation_cpu_s"),
        "baseline_cpu_s_per_site": growth_per_site(rows, "baseline_cpu_s"),
    }
    if len(rows) > 1:
        print(
            "\nGrowth per added site: "
            + ", ".join(f"{k} {v:.3f}" for k, v in growth.items() if v is not None)
        )
    print(
        "\nThe node side is the real path on real per-site SQLite stores (node.stats compute, "
        "noise, charge, egress gate); the ServerApp runs coordinator.serverapp.run_round."
    )
    emit(
        {
            "benchmark": "stats_simulation",
            "quick": args.quick,
            "secure_aggregation": args.secure,
            "node_path": "real per-site SQLite stores (copies of 3 prepared node stores)",
            "cpus": os.cpu_count(),
            "setup_s": round(setup_s, 1),
            "runs": rows,
            "growth": {k: (None if v is None else round(v, 4)) for k, v in growth.items()},
            "ratios": {
                **{f"round_vs_baseline_{r['sites']}": r["ratio_round_vs_baseline"] for r in rows},
                **{
                    f"cpu_vs_baseline_{r['sites']}": round(
                        r["simulation_cpu_s"] / r["baseline_cpu_s"], 1
                    )
                    for r in rows
                    if r["baseline_cpu_s"]
                },
            },
        }
    )


if __name__ == "__main__":
    main()
