"""``harmonia-node token``: issue, list and revoke API tokens from the host."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from node.commands.options import add_data_dir, settings_from
from node.commands.user import cli_actor
from node.errors import AuthError
from node.exit_codes import ExitCode

SCOPES = ("ingest", "read", "admin")
"""``--scope``'s choices: :class:`node.auth.Scope`'s values (a unit test keeps them so)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``token`` subcommand."""
    parser = subparsers.add_parser("token", help="issue, list or revoke API tokens")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    issue = actions.add_parser("issue", aliases=["create"], help="issue a token and print it once")
    add_data_dir(issue)
    issue.add_argument("--name", required=True)
    issue.add_argument(
        "--scope",
        action="append",
        choices=SCOPES,
        default=None,
        help="repeatable: ingest, read, admin; with --user, narrows what the token may do",
    )
    issue.add_argument(
        "--user", default=None, metavar="NAME", help="the token acts as this user, with its role"
    )
    issue.add_argument("--expires-in-days", type=float, default=None)
    issue.set_defaults(func=_issue)
    listing = actions.add_parser("list", help="list active tokens (never their secrets)")
    add_data_dir(listing)
    listing.set_defaults(func=_list)
    revoke = actions.add_parser("revoke", help="revoke a token by id")
    add_data_dir(revoke)
    revoke.add_argument("token_id")
    revoke.set_defaults(func=_revoke)


def _issue(args: argparse.Namespace) -> int:
    from node.audit import AuditAction
    from node.auth import Scope
    from node.runtime import open_node

    expires = None
    if args.expires_in_days is not None:
        expires = datetime.now(UTC) + timedelta(days=args.expires_in_days)
    scopes = [Scope(s) for s in args.scope or ()]
    if not scopes and args.user is None:
        raise AuthError("give at least one --scope, or --user NAME for a token that acts as a user")
    with open_node(settings_from(args)) as runtime:
        user_id = runtime.users.get(args.user).id if args.user is not None else None
        issued = runtime.tokens.issue(args.name, scopes, expires_at=expires, user_id=user_id)
        runtime.audit.record(
            actor=cli_actor(),
            action=AuditAction.CREATED,
            target_type="token",
            target_id=issued.info.token_id,
            detail={"name": issued.info.name, "scopes": sorted(scopes), "user": args.user},
        )
    print(issued.token)
    return ExitCode.OK


def _list(args: argparse.Namespace) -> int:
    from node.runtime import open_node

    with open_node(settings_from(args)) as runtime:
        for info in runtime.tokens.list():
            print(f"{info.token_id}\t{info.name}\t{' '.join(sorted(info.scopes))}")
    return ExitCode.OK


def _revoke(args: argparse.Namespace) -> int:
    from node.runtime import open_node

    with open_node(settings_from(args)) as runtime:
        runtime.tokens.revoke(args.token_id)
    return ExitCode.OK
