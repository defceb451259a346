"""``harmonia-node audit``: verify the hash-chained audit log, or export it as JSON lines."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from node.commands.options import add_data_dir, add_expect_head, parse_head, settings_from
from node.exit_codes import ExitCode

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``audit`` subcommand."""
    parser = subparsers.add_parser("audit", help="verify or export the audit log")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify", help="walk the hash chain; exit 6 naming the first tampered entry"
    )
    add_data_dir(verify)
    add_expect_head(verify, "log")
    verify.set_defaults(func=_verify)
    export = actions.add_parser("export", help="write every entry as one JSON object per line")
    add_data_dir(export)
    export.add_argument("--out", type=Path, required=True, help="the .jsonl file to write")
    export.set_defaults(func=_export)


def _verify(args: argparse.Namespace) -> int:
    from node.audit import verify_audit_log
    from node.runtime import open_node

    anchor = parse_head(args.expect_head, "audit verify")
    with open_node(settings_from(args)) as runtime:
        result = verify_audit_log(runtime.audit, anchor=anchor)
    for warning in result.warnings:
        print(f"harmonia-node: warning: {warning}", file=sys.stderr)
    if not result.intact:
        print(
            f"audit log TAMPERED at entry {result.first_bad_seq}: {result.problem}",
            file=sys.stderr,
        )
        return ExitCode.AUDIT_TAMPERED
    head = f"{result.head_seq}:{result.head_hash}"
    print(f"audit log intact: {result.entries} entries (head {head})")
    return ExitCode.OK


def _export(args: argparse.Namespace) -> int:
    from node.runtime import open_node

    out: Path = args.out
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    count = 0
    with open_node(settings_from(args)) as runtime, tmp.open("w", encoding="utf-8") as handle:
        for entry in runtime.audit.entries():
            handle.write(json.dumps(entry.to_json(), sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(out)
    print(f"wrote {count} audit entries to {out}")
    return ExitCode.OK
