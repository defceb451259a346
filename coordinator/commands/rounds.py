"""``harmonia-coordinator round``: statistics rounds (``stats``), training (``train``), ``show``.

``round stats`` sums the sites' statistics under SecAgg+ by default
(``--no-secure-aggregation`` turns it off) and asks for per-site releases,
which only sites whose policy allows them send (``--no-per-site``); the
``--secagg-*`` options are SecAgg+'s parameters (shares, threshold, stage
timeout, fewest nodes). The result records the mode, the parameters and
which sites survived the secure sum.

``round stats`` needs ``harmonia-coordinator serve --flower`` running on the
same data directory: it submits the statistics Flower app to the local
SuperLink's Control API (loopback) with ``flwr run``, waits for the ServerApp's
result, and stores it (:class:`coordinator.rounds.RoundStore`) with the
participation, bytes per site and wall time.

``round train``'s options are registered here; its work (numpy, Flower) is
:mod:`coordinator.commands.training`, imported only when a training run starts.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coordinator.commands.options import add_data_dir, settings_from
from coordinator.exit_codes import ExitCode
from coordinator.run_config import run_config_text
from shared.errors import ConfigurationError
from shared.flower_process import flower_environment, flower_executable

if TYPE_CHECKING:
    from coordinator.settings import CoordinatorSettings

__all__ = ["AGGREGATIONS", "COMPRESSIONS", "register", "run_stats_round"]

_FAB_DIR = Path(__file__).parents[1] / "serverapp" / "fab"

AGGREGATIONS = ("fedavg", "fedmedian", "trimmed-mean", "krum")
"""``round train --aggregation``'s choices, the first the default: the values of
:class:`coordinator.serverapp.training_aggregation.Aggregation` (a unit test keeps them so)."""
COMPRESSIONS = ("none", "fp16", "int8")
"""``round train --compression``'s choices: :class:`shared.schemas.training.Compression`'s
values (a unit test keeps them so)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``round`` subcommand."""
    parser = subparsers.add_parser("round", help="run a statistics round, show stored rounds")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    stats = actions.add_parser("stats", help="run a federated statistics round and store it")
    add_data_dir(stats)
    stats.add_argument("--project", required=True, help="the project name on the nodes")
    stats.add_argument(
        "--no-noise",
        action="store_true",
        help="ask for noise-free statistics (nodes refuse unless their policy allows it)",
    )
    stats.add_argument("--noise-multiplier", type=float, default=4.0)
    stats.add_argument("--delta", type=float, default=1e-6)
    stats.add_argument("--seed", type=int, default=-1, help="noise seed (tests only; -1: random)")
    stats.add_argument("--expected-nodes", type=int, default=None)
    stats.add_argument("--wait-nodes", type=float, default=30.0, metavar="SECONDS")
    stats.add_argument("--reply-timeout", type=float, default=60.0, metavar="SECONDS")
    stats.add_argument(
        "--secure-aggregation",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="sum the sites' statistics under SecAgg+ so the coordinator sees only the noised "
        "totals (default: on; needs --secagg-min-nodes nodes)",
    )
    stats.add_argument(
        "--per-site",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also ask each site for its own noised statistics; only sites whose policy "
        "allows per-site releases send them (default: on)",
    )
    stats.add_argument(
        "--secagg-num-shares",
        type=_share_count,
        default=1.0,
        help="SecAgg+ shares per key: a count (>2) or a fraction of the nodes (default 1.0)",
    )
    stats.add_argument(
        "--secagg-threshold",
        type=_share_count,
        default=0.67,
        help="shares needed to reconstruct a key: a count or a fraction of the shares "
        "(default 0.67: 2 of 3 nodes, so one may drop out)",
    )
    stats.add_argument(
        "--secagg-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long each of SecAgg+'s four stages waits for replies",
    )
    stats.add_argument(
        "--secagg-min-nodes",
        type=int,
        default=3,
        help="fewest nodes a secure sum starts with (below it the round skips it and says so)",
    )
    stats.set_defaults(func=_stats)
    _register_train(actions)
    show = actions.add_parser("show", help="print a stored round's result (JSON)")
    add_data_dir(show)
    show.add_argument("round_id", nargs="?", help="default: the latest")
    show.set_defaults(func=_show)


def _register_train(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``train`` action to ``round``."""
    train = actions.add_parser("train", help="run federated training rounds, register the model")
    add_data_dir(train)
    train.add_argument("--plan", type=Path, required=True, help="training plan (YAML or JSON)")
    train.add_argument("--project", required=True, help="the project whose consensus trains it")
    train.add_argument("--rounds", type=int, required=True)
    train.add_argument("--min-sites", type=int, default=1, help="updates a round needs (default 1)")
    train.add_argument("--aggregation", choices=AGGREGATIONS, default=AGGREGATIONS[0])
    train.add_argument("--trim-fraction", type=float, default=0.2)
    train.add_argument("--krum-malicious", type=int, default=1)
    train.add_argument("--secure-aggregation", action="store_true", help="sum updates with SecAgg+")
    train.add_argument("--compression", choices=COMPRESSIONS, default=None)
    train.add_argument("--from-model", default=None, metavar="NAME[:VERSION]")
    train.add_argument("--expected-nodes", type=int, default=None)
    train.add_argument("--wait-nodes", type=float, default=30.0, metavar="SECONDS")
    train.add_argument("--rejoin-wait", type=float, default=5.0, metavar="SECONDS")
    train.add_argument("--reply-timeout", type=float, default=300.0, metavar="SECONDS")
    train.add_argument(
        "--exchange", choices=["fast", "send-and-receive"], default="fast", help=argparse.SUPPRESS
    )
    train.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    train.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from coordinator.commands.training import train  # numpy, Flower: only here

    return train(args)


def _share_count(text: str) -> int | float:
    """An integer count or a fraction (``1.0``, ``0.67``), as SecAgg+ reads them."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def run_stats_round(
    settings: CoordinatorSettings,
    *,
    project: str,
    noise: bool = True,
    noise_multiplier: float = 4.0,
    delta: float = 1e-6,
    seed: int = -1,
    expected_nodes: int | None = None,
    wait_nodes_s: float = 30.0,
    reply_timeout_s: float = 60.0,
    secure_aggregation: bool = True,
    per_site: bool = True,
    secagg_num_shares: int | float = 1.0,
    secagg_threshold: int | float = 0.67,
    secagg_timeout_s: float = 60.0,
    secagg_min_nodes: int = 3,
) -> dict[str, Any]:
    """Run one statistics round through the local SuperLink; store and return its result.

    Raises
    ------
    ConfigurationError
        No SuperLink runs for ``data_dir``, or the run could not be submitted or
        did not finish in time.
    """
    from coordinator.rounds import RoundStore, harmonization_result
    from coordinator.runtime import open_coordinator
    from coordinator.superlink import CONNECTION, FlowerPaths

    started = time.monotonic()
    data_dir = settings.data_dir
    paths = FlowerPaths.of(data_dir)
    if not (paths.home / "config.toml").exists():
        raise ConfigurationError(
            f"no SuperLink for {data_dir}: start 'harmonia-coordinator serve --flower' first",
            setting="flower",
        )
    registered = json.loads(paths.registrations.read_text()) if paths.registrations.exists() else {}
    round_id = f"stats-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    app_dir = paths.root / "app"
    shutil.copytree(_FAB_DIR, app_dir, dirs_exist_ok=True)
    results = paths.root / "results"
    results.mkdir(parents=True, exist_ok=True)
    result_path = results / f"{round_id}.json"
    config = {
        "project": project,
        "round-id": round_id,
        "noise": noise,
        "noise-multiplier": noise_multiplier,
        "delta": delta,
        "seed": seed,
        "result-path": str(result_path.resolve()),
        "registry-path": str(paths.registrations.resolve()),
        "expected-nodes": len(registered) if expected_nodes is None else expected_nodes,
        "wait-nodes-s": wait_nodes_s,
        "reply-timeout-s": reply_timeout_s,
        "secure-aggregation": secure_aggregation,
        "per-site": per_site,
        "secagg-num-shares": secagg_num_shares,
        "secagg-threshold": secagg_threshold,
        "secagg-timeout-s": secagg_timeout_s,
        "secagg-min-nodes": secagg_min_nodes,
    }
    run_config = run_config_text(config)
    submitted = subprocess.run(
        [
            flower_executable("flwr"),
            "run",
            str(app_dir),
            CONNECTION,
            "--run-config",
            run_config,
            "--format",
            "json",
        ],
        env=flower_environment(paths.home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if submitted.returncode != 0:
        raise ConfigurationError(
            f"the SuperLink did not accept the round: {submitted.stdout}{submitted.stderr}",
            setting="flower",
        )
    deadline = time.monotonic() + wait_nodes_s + reply_timeout_s + 4 * secagg_timeout_s + 120
    while not result_path.exists():
        if time.monotonic() > deadline:
            raise ConfigurationError(
                f"round {round_id} did not finish in time; see {paths.log}", setting="flower"
            )
        time.sleep(0.1)
    result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    result["total_wall_time_s"] = round(time.monotonic() - started, 3)
    start = submitted.stdout.find("{")
    if start >= 0:
        result["run_id"] = str(json.loads(submitted.stdout[start:]).get("run-id", ""))
    RoundStore(data_dir).save(result)
    harmonized = harmonization_result(result)
    if harmonized is not None:
        with open_coordinator(settings) as runtime:
            runtime.round_results.add(harmonized)
    return result


def _stats(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    result = run_stats_round(
        settings,
        project=args.project,
        noise=not args.no_noise,
        noise_multiplier=args.noise_multiplier,
        delta=args.delta,
        seed=args.seed,
        expected_nodes=args.expected_nodes,
        wait_nodes_s=args.wait_nodes,
        reply_timeout_s=args.reply_timeout,
        secure_aggregation=args.secure_aggregation,
        per_site=args.per_site,
        secagg_num_shares=args.secagg_num_shares,
        secagg_threshold=args.secagg_threshold,
        secagg_timeout_s=args.secagg_timeout,
        secagg_min_nodes=args.secagg_min_nodes,
    )
    print(json.dumps(result, sort_keys=True), flush=True)
    return ExitCode.OK if result["answered"] else ExitCode.FAILED


def _show(args: argparse.Namespace) -> int:
    from coordinator.rounds import RoundStore

    settings = settings_from(args)
    store = RoundStore(settings.data_dir)
    ids = store.list()
    round_id = args.round_id or (ids[-1] if ids else None)
    if round_id is None:
        print("no stored rounds")
        return ExitCode.FAILED
    print(json.dumps(store.get(round_id), indent=2, sort_keys=True))
    return ExitCode.OK
