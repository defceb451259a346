"""``harmonia-coordinator token create``: an admin token for a user with a role."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from coordinator.commands.options import add_data_dir, parse_duration, settings_from
from coordinator.exit_codes import ExitCode

ROLES = ("coordinator-admin", "guideline-editor", "viewer")
"""``--role``'s choices: :class:`coordinator.auth.Role`'s values (a unit test keeps them so)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``token`` subcommand."""
    parser = subparsers.add_parser("token", help="create or revoke admin API tokens")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a token and print it once")
    add_data_dir(create)
    create.add_argument("--user", required=True, help="the admin user the token acts as")
    create.add_argument(
        "--role",
        choices=ROLES,
        default=None,
        help="creates the user with this role if absent",
    )
    create.add_argument("--name", default="", help="a label for the token")
    create.add_argument("--expires-in", type=parse_duration, default=None, metavar="DURATION")
    create.set_defaults(func=_create)
    revoke = actions.add_parser("revoke", help="revoke a token by id")
    add_data_dir(revoke)
    revoke.add_argument("token_id")
    revoke.set_defaults(func=_revoke)


def _create(args: argparse.Namespace) -> int:
    from coordinator.runtime import open_coordinator

    expires = datetime.now(UTC) + args.expires_in if args.expires_in else None
    with open_coordinator(settings_from(args)) as runtime:
        issued = runtime.tokens.issue(args.user, role=args.role, name=args.name, expires_at=expires)
    print(issued.token)
    return ExitCode.OK


def _revoke(args: argparse.Namespace) -> int:
    from coordinator.runtime import open_coordinator

    with open_coordinator(settings_from(args)) as runtime:
        runtime.tokens.revoke(args.token_id)
    return ExitCode.OK
