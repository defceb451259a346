"""``harmonia-node user``: create, list and change local users from the host.

Passwords are never taken on the command line (they would sit in the shell
history and the process list): ``--password-stdin`` reads one line from
standard input, otherwise the command prompts twice on the terminal.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from node.commands.options import add_data_dir, settings_from
from node.errors import WeakPasswordError
from node.exit_codes import ExitCode

__all__ = ["cli_actor", "read_password", "register"]

ROLES = ("annotator", "reviewer", "admin")
"""``--role``'s choices: :class:`node.auth.Role`'s values (a unit test keeps them so)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``user`` subcommand."""
    parser = subparsers.add_parser("user", help="create, list or change local users")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    roles = list(ROLES)

    create = actions.add_parser("create", help="create a user who signs in with a password")
    add_data_dir(create)
    create.add_argument("--username", required=True)
    create.add_argument("--role", required=True, choices=roles)
    create.add_argument("--display-name", default="")
    _add_password_stdin(create)
    create.set_defaults(func=_create)

    listing = actions.add_parser("list", help="list users and their roles")
    add_data_dir(listing)
    listing.set_defaults(func=_list)

    set_role = actions.add_parser("set-role", help="give a user another role")
    add_data_dir(set_role)
    set_role.add_argument("--username", required=True)
    set_role.add_argument("--role", required=True, choices=roles)
    set_role.set_defaults(func=_set_role)

    set_password = actions.add_parser("set-password", help="set a user's password")
    add_data_dir(set_password)
    set_password.add_argument("--username", required=True)
    _add_password_stdin(set_password)
    set_password.set_defaults(func=_set_password)

    for name, func, text in (
        ("disable", _disable, "disable a user: no sign-in, sessions and tokens stop"),
        ("enable", _enable, "enable a disabled user"),
    ):
        action = actions.add_parser(name, help=text)
        add_data_dir(action)
        action.add_argument("--username", required=True)
        action.set_defaults(func=func)


def _add_password_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )


def read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or typed twice at a terminal prompt."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise WeakPasswordError("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise WeakPasswordError(
            "no terminal to prompt for the password; pipe it in with --password-stdin"
        )
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise WeakPasswordError("the two passwords differ; nothing was changed")
    return first


def cli_actor() -> str:
    """Who the audit log names for a command run on the host."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _create(args: argparse.Namespace) -> int:
    password = read_password(args.password_stdin)
    from node.runtime import open_node

    with open_node(settings_from(args)) as runtime:
        user = runtime.users.create(
            args.username, password, args.role, args.display_name, actor=cli_actor()
        )
    print(f"created {user.username} ({user.role.value})")
    return ExitCode.OK


def _list(args: argparse.Namespace) -> int:
    from node.runtime import open_node

    with open_node(settings_from(args)) as runtime:
        for user in runtime.users.list():
            state = "disabled" if user.disabled else "active"
            print(f"{user.username}\t{user.role.value}\t{state}\t{user.display_name}")
    return ExitCode.OK


def _set_role(args: argparse.Namespace) -> int:
    from node.runtime import open_node

    with open_node(settings_from(args)) as runtime:
        user = runtime.users.set_role(args.username, args.role, actor=cli_actor())
    print(f"{user.username} is now {user.role.value}")
    return ExitCode.OK


def _set_password(args: argparse.Namespace) -> int:
    password = read_password(args.password_stdin)
    from node.runtime import open_node

    with open_node(settings_from(args)) as runtime:
        runtime.users.set_password(args.username, password, actor=cli_actor())
    print(f"password of {args.username} changed; their sessions ended")
    return ExitCode.OK


def _disable(args: argparse.Namespace) -> int:
    from node.runtime import open_node

    with open_node(settings_from(args)) as runtime:
        runtime.users.disable(args.username, actor=cli_actor())
    print(f"{args.username} is disabled")
    return ExitCode.OK


def _enable(args: argparse.Namespace) -> int:
    from node.runtime import open_node

    with open_node(settings_from(args)) as runtime:
        runtime.users.enable(args.username, actor=cli_actor())
    print(f"{args.username} is enabled")
    return ExitCode.OK
