"""Scale: statistics and training rounds with 100 and 500 virtual sites (Flower Simulation Engine).

For each number of sites N, four measurements, each in its own child process
(:func:`_simulation.measure`: wall time, peak RSS of the whole process tree,
the tree's CPU seconds). The simulations connect to one Ray head started
once per run (:func:`_simulation.ray_head`; its tree counts in their figures,
its start is reported apart as ``ray_head``) instead of each starting Ray:

``stats-simulation``
    The real statistics round (``coordinator.serverapp.run_round`` in a
    ServerApp, per-site noised releases) with the node's real ClientApp on
    one real SQLite store per virtual site (``benchmarks/stats_simulation.py``).
``stats-baseline``
    The same releases (``node.stats.release_statistics`` on each store) and
    the same pooling in one process without Flower; same noise seed, so the
    pooled figures must be equal.
``train-simulation``
    One training round and the final evaluation of the real training
    ServerApp (``coordinator.serverapp.training.run_training``: push, fast
    pull loop, FedAvg, checkpoint, per-site evaluation) with the node's real
    ClientApp. Each virtual site is a real node store with phantom lesions
    read by simulated readers (``tests/support/learn_sites.py``, 4 cases per
    template site) and trains the tiny plan (2-level U-Net on 32 px) with
    DP-SGD (Opacus, z = 1) through ``node.learn.round_work.RoundWork``: the
    update leaves only through the site's egress gate (charged, ledgered).
    The work runs inside the ClientApp (``in-process``: Ray's actors keep
    torch loaded) instead of a learning service per node: the Simulation
    Engine has no node processes to run one beside.
``train-baseline``
    The same per-site work (``RoundWork.train`` on every store, FedAvg of
    the released updates with the ServerApp's own ``aggregate_updates``,
    ``RoundWork.evaluate`` of the result on every store) in one process
    without Flower.

Site stores are copies of three prepared templates per kind, each enrolled as
its own site with its own ledger and budget (:func:`_simulation.copy_sites`).
Ratios (simulation / baseline) and growth per added site come from the same
run. On a shared machine wall times swing with the load; CPU seconds are the
steadier figure.

Run: ``python benchmarks/scale.py [--sites 100,500] [--kinds stats,train] [--quick]``. ``--quick``
is the CI size: 3 virtual sites (one per template), training templates of 2
cases: the same children, engine and code paths, each run once; growth per
added site needs two sizes, so the quick run reports none. Ends with one JSON
line.
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
from _simulation import copy_sites, growth, measure, ray_head, run_on_simulation, site_name
from stats_simulation import prepare_sites as prepare_stats_sites
from stats_simulation import run_baseline as stats_baseline
from stats_simulation import run_simulation_round as stats_simulation

from tests.support.learn_sites import PROJECT, default_recipes, prepare_learning_site, tiny_plan

CASES = 4  # per training template (--quick: 2)
PLAN = tiny_plan(name="scale-seg")
TRAINING_POLICY = {"epsilon": 1e6, "delta": 0.5, "release_site_metrics": False}
FIGURES = ("wall_s", "cpu_s", "peak_rss_mib")
MODES = ("stats-simulation", "stats-baseline", "train-simulation", "train-baseline")


# -- the sites ---------------------------------------------------------------------------------


def prepare_training_sites(root: Path, count: int, cases: int = CASES) -> None:
    """``count`` learning sites under ``root``, and the run's plan and initial weights."""
    from coordinator.commands.training import _initial_weights
    from shared.schemas.training import TrainingPlan

    templates = []
    for index, recipe in enumerate(default_recipes()[:3]):
        template = root / "templates" / f"learn-{index}"
        prepare_learning_site(template, recipe, cases=cases)
        templates.append(template)
    policy = json.dumps(TRAINING_POLICY)

    def configure(data_dir: Path) -> None:
        (data_dir / "training-policy.json").write_text(policy)

    copy_sites(root, templates, count, configure)
    plan = TrainingPlan.model_validate(PLAN)
    (root / "plan.json").write_text(plan.model_dump_json(), encoding="utf-8")
    (root / "initial.weights").write_bytes(_initial_weights(plan))


# -- training: the two measured runs (each in a child process) ---------------------------------


def _site_request(root: Path, run_id: str, server_round: int) -> dict[str, Any]:
    return {
        "plan": (root / "plan.json").read_text(encoding="utf-8"),
        "project": PROJECT,
        "run_id": run_id,
        "round_id": f"{run_id}.r{server_round}",
        "server_round": server_round,
    }


def train_baseline(root: Path, count: int, run_id: str) -> dict[str, Any]:
    """Every site's round work and the same FedAvg in this process, without Flower."""
    from coordinator.serverapp.training_aggregation import (
        Aggregation,
        AggregationSettings,
        aggregate_updates,
    )
    from node.egress import decode_payload
    from node.learn.round_work import RoundWork
    from shared.compression import decode_arrays
    from shared.weights import decode_weights, encode_weights

    started = time.perf_counter()
    initial = (root / "initial.weights").read_bytes()
    weights, _ = decode_weights(initial)
    request = _site_request(root, run_id, 1)
    updates = []
    released_bytes = 0
    for index in range(count):
        header, body = RoundWork(root / "sites" / site_name(index)).train(request, initial)
        if not header.get("ok"):
            raise RuntimeError(f"{site_name(index)} refused: {header}")
        released_bytes += len(body)
        payload = decode_payload(body)
        metadata = payload["metadata"]
        stored = payload["arrays"]
        delta = decode_arrays([stored[k] for k in sorted(stored)], str(metadata["compression"]))
        site_weights = [w + d for w, d in zip(weights.values(), delta, strict=True)]
        updates.append((site_weights, int(metadata["num_examples"])))
    merged = aggregate_updates(updates, AggregationSettings(Aggregation.FEDAVG, 0.2, 1))
    final = encode_weights(dict(zip(weights, merged, strict=True)))
    evaluation = _site_request(root, run_id, 2)
    evaluated = sum(
        1
        for index in range(count)
        if RoundWork(root / "sites" / site_name(index)).evaluate(evaluation, final)[0].get("ok")
    )
    return {
        "wall_s": time.perf_counter() - started,
        "answered": len(updates),
        "evaluated": evaluated,
        "bytes": released_bytes,
    }


def train_simulation(root: Path, count: int, run_id: str) -> dict[str, Any]:
    """One round and the final evaluation of the real training ServerApp, ``count`` sites."""
    from coordinator.serverapp.training import run_training

    run_dir = root / "runs" / run_id
    run_dir.mkdir(parents=True)
    for name in ("plan.json", "initial.weights"):
        (run_dir / name).write_bytes((root / name).read_bytes())
    config = {
        "run-id": run_id,
        "run-dir": str(run_dir),
        "project": PROJECT,
        "rounds": 1,
        "min-sites": count,
        "expected-nodes": count,
        "wait-nodes-s": 600.0,
        "rejoin-wait-s": 5.0,
        "reply-timeout-s": 7200.0,
        "in-process": True,
    }
    result, wall = run_on_simulation(
        lambda grid, context: run_training(grid, config, context), root / "sites", count
    )
    if result["status"] != "completed":
        raise RuntimeError(f"the training run ended {result['status']}: {result['message']}")
    (entry,) = result["history"]
    return {
        "wall_s": wall,
        "round_s": float(entry["wall_s"]),
        "answered": len(entry["answered"]),
        "missing": len(entry["missing"]) + len(entry["refused"]),
        "evaluated": len(result["sites"]),
        "bytes": sum(int(b) for b in entry["bytes"].values()),
    }


def _child(args: argparse.Namespace) -> None:
    root = Path(args.root)
    count = args.child_sites
    run_id = f"scale-{args.child}-{count}"
    kind, mode = args.child.split("-")
    if kind == "stats" and mode == "simulation":
        out = stats_simulation(root / "stats", count, run_id, secure=False)
    elif kind == "stats":
        out = stats_baseline(root / "stats", count, run_id)
    elif mode == "simulation":
        out = train_simulation(root / "train", count, run_id)
    else:
        out = train_baseline(root / "train", count, run_id)
    print("RESULT " + json.dumps(out), flush=True)


# -- the parent ----------------------------------------------------------------------------------


def _row(
    kind: str, count: int, simulation: dict[str, Any], baseline: dict[str, Any]
) -> dict[str, Any]:
    missing = simulation["missing"]
    row: dict[str, Any] = {
        "kind": kind,
        "sites": count,
        "answered": simulation["answered"],
        "missing": missing if isinstance(missing, int) else len(missing),
        "simulation_wall_s": round(simulation["wall_s"], 2),
        "round_s": round(simulation.get("round_s", simulation["wall_s"]), 2),
        "simulation_peak_rss_mib": round(simulation["peak_tree_rss_mib"], 1),
        "simulation_cpu_s": round(simulation["tree_cpu_s"], 2),
        "baseline_wall_s": round(baseline["wall_s"], 3),
        "baseline_peak_rss_mib": round(baseline["peak_tree_rss_mib"], 1),
        "baseline_cpu_s": round(baseline["tree_cpu_s"], 2),
        "bytes_per_site": round(simulation["bytes"] / max(simulation["answered"], 1)),
    }
    if kind == "stats":
        row["figures_equal_baseline"] = simulation["figures"] == baseline["figures"]
    else:
        row["evaluated"] = simulation["evaluated"]
        row["baseline_answered"] = baseline["answered"]
    row["ratio_wall_vs_baseline"] = round(simulation["wall_s"] / baseline["wall_s"], 2)
    row["ratio_cpu_vs_baseline"] = round(
        simulation["tree_cpu_s"] / max(baseline["tree_cpu_s"], 1e-9), 2
    )
    row["ratio_rss_vs_baseline"] = round(
        simulation["peak_tree_rss_mib"] / max(baseline["peak_tree_rss_mib"], 1e-9), 2
    )
    return row


def _growth(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    keys = [f"{side}_{figure}" for side in ("simulation", "baseline") for figure in FIGURES]
    out = {}
    for key in keys:
        value = growth(rows, key)
        out[f"{key}_per_site"] = None if value is None else round(value, 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", default="100,500", help="virtual sites: a list, e.g. 100,500")
    parser.add_argument("--quick", action="store_true", help="3 virtual sites (CI)")
    parser.add_argument(
        "--kinds",
        default="stats,train",
        help="the rounds to measure: stats, train or both (default stats,train)",
    )
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--child-sites", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    counts = [3] if args.quick else sorted({int(n) for n in args.sites.split(",")})
    kinds = [k for k in ("stats", "train") if k in args.kinds.split(",")]
    if not kinds or set(args.kinds.split(",")) - {"stats", "train"}:
        parser.error(f"--kinds takes stats, train or stats,train, not {args.kinds!r}")
    script = Path(__file__).resolve()
    rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory(prefix="harmonia-scale-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        if "stats" in kinds:
            prepare_stats_sites(root / "stats", max(counts))
        if "train" in kinds:
            prepare_training_sites(root / "train", max(counts), 2 if args.quick else CASES)
        setup_s = time.perf_counter() - started
        print(f"site stores prepared in {setup_s:.0f} s", flush=True)
        with ray_head(root) as head:
            print(f"Ray head started in {head.start_wall_s:.0f} s", flush=True)
            for count in counts:
                for kind in kinds:
                    simulation = measure(script, root, f"{kind}-simulation", count, head=head)
                    baseline = measure(script, root, f"{kind}-baseline", count)
                    row = _row(kind, count, simulation, baseline)
                    rows[kind].append(row)
                    print("ROW " + json.dumps(row), flush=True)
    header = ["sites", "answered", "wall s (sim / base)", "round s", "CPU s (sim / base)"]
    header += ["CPU ratio", "peak RSS MiB (sim / base)", "bytes/site"]
    titles = {"stats": "Statistics round", "train": "Training round + evaluation"}
    for kind in kinds:
        title = titles[kind]
        print_table(
            f"{title} on Flower's Simulation Engine ({os.cpu_count()} CPUs, 1-CPU Ray actors)",
            header,
            [
                [
                    r["sites"],
                    r["answered"],
                    f"{r['simulation_wall_s']:.1f} / {r['baseline_wall_s']:.1f}",
                    r["round_s"],
                    f"{r['simulation_cpu_s']:.1f} / {r['baseline_cpu_s']:.1f}",
                    r["ratio_cpu_vs_baseline"],
                    f"{r['simulation_peak_rss_mib']:.0f} / {r['baseline_peak_rss_mib']:.0f}",
                    r["bytes_per_site"],
                ]
                for r in rows[kind]
            ],
        )
    growths = {kind: _growth(kind_rows) for kind, kind_rows in rows.items()}
    for kind, values in growths.items():
        shown = ", ".join(f"{k} {v:.3f}" for k, v in values.items() if v is not None)
        if shown:
            print(f"\nGrowth per added site ({kind}): {shown}")
    emit(
        {
            "benchmark": "scale",
            "quick": args.quick,
            "cpus": os.cpu_count(),
            "sites": counts,
            "setup_s": round(setup_s, 1),
            "ray_head": {
                "start_wall_s": round(head.start_wall_s, 1),
                "start_cpu_s": round(head.start_cpu_s, 2),
            },
            "node_path": "real per-site SQLite stores; real ClientApp, stats and learning code",
            "plan": PLAN["name"],
            "dp_sgd": "privacy" in PLAN,
            **rows,
            "growth": growths,
            "ratios": {
                f"{kind}_cpu_vs_baseline_{r['sites']}": r["ratio_cpu_vs_baseline"]
                for kind, kind_rows in rows.items()
                for r in kind_rows
            },
        }
    )


if __name__ == "__main__":
    main()
