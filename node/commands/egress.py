"""``harmonia-node egress``: verify the egress ledger's keyed hash chain, or export it.

``verify`` walks the chain up to its sealed head (exit 7 naming the first bad
entry); ``export`` writes every entry, as JSON lines or CSV, to a file or to
standard output, so hospital IT can prove what left the building.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from node.commands.options import add_data_dir, add_expect_head, parse_head, settings_from
from node.exit_codes import ExitCode

__all__ = ["FORMATS", "register"]

FORMATS = ("jsonl", "csv")
"""``--format``'s choices: the values of :class:`node.egress.LedgerFormat`
(a unit test keeps them so)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``egress`` subcommand."""
    parser = subparsers.add_parser(
        "egress", help="verify or export the egress ledger (everything that left the node)"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify", help="walk the ledger's hash chain; exit 7 naming the first tampered entry"
    )
    add_data_dir(verify)
    add_expect_head(verify, "ledger")
    verify.set_defaults(func=_verify)
    export = actions.add_parser("export", help="write every ledger entry as JSON lines or CSV")
    add_data_dir(export)
    export.add_argument(
        "--format",
        choices=FORMATS,
        default=FORMATS[0],
        help="jsonl (default) or csv",
    )
    export.add_argument(
        "--out", type=Path, default=None, help="the file to write (default: standard output)"
    )
    export.set_defaults(func=_export)


def _verify(args: argparse.Namespace) -> int:
    from node.runtime import open_node

    anchor = parse_head(args.expect_head, "egress verify")
    with open_node(settings_from(args)) as runtime:
        result = runtime.egress_ledger.verify(anchor=anchor)
    for warning in result.warnings:
        print(f"harmonia-node: warning: {warning}", file=sys.stderr)
    if not result.intact:
        print(
            f"egress ledger TAMPERED at entry {result.first_bad_seq}: {result.problem}",
            file=sys.stderr,
        )
        return ExitCode.EGRESS_LEDGER_TAMPERED
    head = f"{result.head_seq}:{result.head_hash}"
    print(f"egress ledger intact: {result.entries} entries (head {head})")
    return ExitCode.OK


def _export(args: argparse.Namespace) -> int:
    from node.egress import LedgerFormat, render_ledger
    from node.runtime import open_node

    with open_node(settings_from(args)) as runtime:
        entries = runtime.egress_ledger.entries()
    text = render_ledger(entries, LedgerFormat(args.format))
    out: Path | None = args.out
    if out is None:
        sys.stdout.write(text)
        return ExitCode.OK
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(out)
    print(f"wrote {len(entries)} egress ledger entries to {out}", file=sys.stderr)
    return ExitCode.OK
