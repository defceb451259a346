"""``harmonia-node guideline``: load a guideline version from a JSON or YAML file, list, sync."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.commands.guideline_sync import register_sync
from node.commands.options import add_data_dir, settings_from
from node.errors import InvalidGuidelineError
from node.exit_codes import ExitCode


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``guideline`` subcommand."""
    parser = subparsers.add_parser("guideline", help="load or list annotation guidelines")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = actions.add_parser("load", help="load a guideline version from a .json/.yaml file")
    add_data_dir(load)
    load.add_argument("file", type=Path, help="the guideline file (JSON or YAML)")
    load.add_argument("--by", default="cli", help="who loads it, for the audit log")
    load.set_defaults(func=_load)
    listing = actions.add_parser("list", help="list loaded guideline versions")
    add_data_dir(listing)
    listing.set_defaults(func=_list)
    register_sync(actions)


def _load(args: argparse.Namespace) -> int:
    from node.runtime import open_node
    from shared.schemas import GuidelineError, load_guideline

    try:
        guideline = load_guideline(args.file)
    except GuidelineError as exc:
        raise InvalidGuidelineError(str(exc)) from None
    with open_node(settings_from(args)) as runtime:
        version, created = runtime.annotation.guidelines.load(guideline, loaded_by=args.by)
    state = "loaded" if created else "already loaded"
    print(f"{state} {version.guideline.key} sha256={version.sha256}")
    return ExitCode.OK


def _list(args: argparse.Namespace) -> int:
    from node.runtime import open_node

    with open_node(settings_from(args)) as runtime:
        for version in runtime.annotation.guidelines.list():
            print(f"{version.guideline.key}\t{version.sha256}\t{version.guideline.title}")
    return ExitCode.OK
