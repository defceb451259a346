"""``harmonia-node calibration``: fetch the consortium's calibration sets, upload their readings.

``fetch`` verifies each signed set, generates and ingests its phantom cases
and creates the calibration project ``calibration-<set id>`` for the given
readers. ``upload`` sends the completed readers' calibration annotations —
pseudonymous readers, no free text — through the egress gate to the
coordinator.
"""

from __future__ import annotations

import argparse

from node.commands.options import add_data_dir, settings_from
from node.exit_codes import ExitCode

__all__ = ["register"]


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``calibration`` subcommand."""
    parser = subparsers.add_parser(
        "calibration", help="fetch calibration sets from the coordinator, upload their readings"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch = actions.add_parser(
        "fetch", help="verify the coordinator's calibration sets and set up their projects"
    )
    add_data_dir(fetch)
    fetch.add_argument("--readers", required=True, help="comma-separated usernames")
    fetch.add_argument("--reviewers", default="", help="comma-separated usernames")
    fetch.add_argument("--readers-per-task", type=int, default=None, metavar="K")
    fetch.add_argument("--by", default="cli", help="who sets it up, for the audit log")
    fetch.set_defaults(func=_fetch)
    upload = actions.add_parser(
        "upload", help="send the calibration annotations of a set through the egress gate"
    )
    add_data_dir(upload)
    upload.add_argument("--set", required=True, dest="set_id", metavar="SET_ID")
    upload.set_defaults(func=_upload)


def _fetch(args: argparse.Namespace) -> int:
    from node.consortium import MembershipFiles, consortium_dir
    from node.consortium.calibration import fetch_calibration_sets, install_calibration_set
    from node.runtime import open_node

    settings = settings_from(args)
    files = MembershipFiles(consortium_dir(settings.data_dir))
    sets = fetch_calibration_sets(files)
    with open_node(settings) as runtime:
        for calibration in sets:
            installed = install_calibration_set(
                calibration,
                data_dir=settings.data_dir,
                ingest=runtime.ingest,
                annotation=runtime.annotation,
                readers=_names(args.readers),
                reviewers=_names(args.reviewers),
                readers_per_task=args.readers_per_task,
                by=args.by,
            )
            print(
                f"calibration set {calibration.set_id}: {len(installed.cases)} case(s) in "
                f"project {installed.project}"
            )
    if not sets:
        print("the coordinator publishes no calibration set yet")
    return ExitCode.OK


def _upload(args: argparse.Namespace) -> int:
    from node.consortium import MembershipFiles, consortium_dir
    from node.consortium.calibration import load_installed, upload_calibration
    from node.runtime import open_node

    settings = settings_from(args)
    files = MembershipFiles(consortium_dir(settings.data_dir))
    files.membership()
    with open_node(settings) as runtime:
        installed = load_installed(settings.data_dir, args.set_id)
        answer = upload_calibration(
            files, installed, runtime.annotation, runtime.engine, ledger_key=runtime.egress_key
        )
    print(
        f"uploaded {answer.get('annotations')} calibration annotation(s) of "
        f"{answer.get('readers')} reader(s) for set {args.set_id}"
    )
    return ExitCode.OK
