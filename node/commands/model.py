"""``harmonia-node model pull``: fetch a global model version over mTLS, verified by SHA-256."""

from __future__ import annotations

import argparse
import json

from node.commands.options import add_data_dir, settings_from
from node.exit_codes import ExitCode

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``model`` subcommand."""
    parser = subparsers.add_parser("model", help="pull global models from the coordinator")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    pull = actions.add_parser("pull", help="download a model version (verified) into the data dir")
    add_data_dir(pull)
    pull.add_argument("--name", default=None, help="the model (default: the only one)")
    pull.add_argument("--version", type=int, default=None, help="default: the newest")
    pull.set_defaults(func=_pull)


def _pull(args: argparse.Namespace) -> int:
    from node.consortium import MembershipFiles, consortium_dir
    from node.consortium.models import pull_model

    settings = settings_from(args)
    files = MembershipFiles(consortium_dir(settings.data_dir))
    files.membership()
    pulled = pull_model(settings.data_dir, files, name=args.name, version=args.version)
    print(json.dumps(pulled.to_json(), sort_keys=True))
    return ExitCode.OK
