"""``harmonia-coordinator harmonization report NAME``: the harmonization report, JSON or CSV."""

from __future__ import annotations

import argparse
import json

from coordinator.commands.options import add_data_dir, settings_from
from coordinator.exit_codes import ExitCode


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``harmonization`` subcommand."""
    parser = subparsers.add_parser(
        "harmonization", help="agreement within and across sites, labels and sites below target"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    report = actions.add_parser("report", help="print the harmonization report of a guideline")
    add_data_dir(report)
    report.add_argument("guideline")
    report.add_argument("--version", default=None, help="a published version (default: newest)")
    report.add_argument("--format", choices=("json", "csv"), default="json")
    report.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> int:
    from coordinator.runtime import open_coordinator

    with open_coordinator(settings_from(args)) as runtime:
        report = runtime.harmonization.report(args.guideline, args.version)
    if args.format == "csv":
        print(report.to_csv(), end="")
    else:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True))
    return ExitCode.OK
