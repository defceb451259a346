"""``harmonia-node guideline sync``: fetch, verify and load the consortium's signed releases."""

from __future__ import annotations

import argparse
import sys

from node.commands.options import add_data_dir, settings_from
from node.exit_codes import ExitCode

__all__ = ["register_sync"]


def register_sync(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sync`` to the ``guideline`` subcommand's actions."""
    sync = actions.add_parser(
        "sync", help="fetch the coordinator's signed releases, verify them, load the good ones"
    )
    add_data_dir(sync)
    sync.set_defaults(func=_sync)


def _sync(args: argparse.Namespace) -> int:
    from node.consortium import MembershipFiles, consortium_dir, sync_guidelines
    from node.runtime import open_node

    settings = settings_from(args)
    files = MembershipFiles(consortium_dir(settings.data_dir))
    files.membership()  # NotEnrolledError before opening anything else
    with open_node(settings) as runtime:
        report = sync_guidelines(files, runtime.annotation.guidelines)
    for key in report.loaded:
        print(f"loaded {key}")
    for key in report.unchanged:
        print(f"already loaded {key}")
    for refusal in report.refused:
        print(f"harmonia-node: {refusal}", file=sys.stderr)
    if not report.ok:
        print(
            f"harmonia-node: {len(report.refused)} release(s) refused and not loaded; tell the "
            "consortium coordinator",
            file=sys.stderr,
        )
        return ExitCode.FAILED
    return ExitCode.OK
