"""``harmonia-coordinator guideline``: publish a JSON/YAML guideline as a signed release; list."""

from __future__ import annotations

import argparse
from pathlib import Path

from coordinator.commands.options import CLI_ACTOR, add_data_dir, settings_from
from coordinator.errors import InvalidGuidelineError
from coordinator.exit_codes import ExitCode


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``guideline`` subcommand."""
    parser = subparsers.add_parser("guideline", help="publish or list signed guideline releases")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    publish = actions.add_parser("publish", help="sign and publish a .json/.yaml guideline")
    add_data_dir(publish)
    publish.add_argument("file", type=Path)
    publish.add_argument("--by", default=CLI_ACTOR, help="who publishes it (recorded)")
    publish.set_defaults(func=_publish)
    listing = actions.add_parser("list", help="list published releases")
    add_data_dir(listing)
    listing.set_defaults(func=_list)


def _publish(args: argparse.Namespace) -> int:
    from coordinator.runtime import open_coordinator
    from shared.schemas import GuidelineError, load_guideline

    try:
        guideline = load_guideline(args.file)
    except GuidelineError as exc:
        raise InvalidGuidelineError(str(exc)) from None
    with open_coordinator(settings_from(args)) as runtime:
        release = runtime.guidelines.publish(guideline, published_by=args.by)
    print(f"published {release.name}@{release.version} sha256={release.sha256}")
    return ExitCode.OK


def _list(args: argparse.Namespace) -> int:
    from coordinator.runtime import open_coordinator

    with open_coordinator(settings_from(args)) as runtime:
        for release in runtime.guidelines.list():
            print(f"{release.name}@{release.version}\t{release.sha256}\t{release.signed_at}")
    return ExitCode.OK
