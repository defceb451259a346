"""``harmonia-coordinator sandbox``: a coordinator and nodes on 127.0.0.1 walking the whole loop."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sandbox`` subcommand."""
    parser = subparsers.add_parser(
        "sandbox",
        help="start a coordinator and N nodes on 127.0.0.1 with synthetic data and walk the loop",
    )
    parser.add_argument("--sites", type=int, default=3, help="how many nodes (default 3)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("sandbox-data"),
        help="where every process keeps its data and logs (default ./sandbox-data; must be new)",
    )
    parser.add_argument(
        "--base-port",
        type=int,
        default=None,
        help="coordinator on PORT..PORT+3, nodes from PORT+10 (default: free ports)",
    )
    parser.add_argument("--cases", type=int, default=4, help="phantom series per site (4)")
    parser.add_argument("--rounds", type=int, default=1, help="training rounds (1)")
    parser.add_argument(
        "--stats-noise",
        action="store_true",
        help="noised (DP) statistics rounds instead of noise-free ones",
    )
    parser.add_argument(
        "--exit-after",
        action="store_true",
        help="run the loop once and exit: 0 if every step worked and agreement rose, else 1",
    )
    parser.set_defaults(func=_sandbox)


def _sandbox(args: argparse.Namespace) -> int:
    from coordinator.sandbox import SandboxOptions, run_sandbox

    # one line per step, not per request: the clients' own logs stay quiet
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("pynetdicom").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # node imports set up its plugins

    if args.data_dir.exists() and any(args.data_dir.iterdir()):
        print(
            f"{args.data_dir} is not empty: pass a new --data-dir (or remove it)", file=sys.stderr
        )
        return 2
    options = SandboxOptions(
        sites=args.sites,
        data_dir=args.data_dir,
        base_port=args.base_port,
        cases=args.cases,
        rounds=args.rounds,
        stats_noise=args.stats_noise,
    )
    return run_sandbox(options, sys.stdout, exit_after=args.exit_after)
