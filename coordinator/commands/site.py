"""``harmonia-coordinator site``: add (print a one-time enrollment token), list, revoke."""

from __future__ import annotations

import argparse

from coordinator.commands.options import CLI_ACTOR, add_data_dir, parse_duration, settings_from
from coordinator.exit_codes import ExitCode


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``site`` subcommand."""
    parser = subparsers.add_parser("site", help="add, list or revoke consortium sites")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="register a site and print its one-time token")
    add_data_dir(add)
    add.add_argument("name", help="the site name: a lower-case DNS label, e.g. hospital-a")
    add.add_argument(
        "--expires-in",
        type=parse_duration,
        default=None,
        metavar="DURATION",
        help="token lifetime, e.g. 30m, 24h, 7d (default: the enrollment_token_hours setting)",
    )
    add.set_defaults(func=_add)
    listing = actions.add_parser("list", help="list sites and their state")
    add_data_dir(listing)
    listing.set_defaults(func=_list)
    revoke = actions.add_parser("revoke", help="revoke a site and all its certificates")
    add_data_dir(revoke)
    revoke.add_argument("name")
    revoke.set_defaults(func=_revoke)


def _add(args: argparse.Namespace) -> int:
    from coordinator.runtime import open_coordinator

    settings = settings_from(args)
    with open_coordinator(settings) as runtime:
        issued = runtime.sites.add(args.name, created_by=CLI_ACTOR, expires_in=args.expires_in)
    expires = f"{issued.expires_at:%Y-%m-%d %H:%M} UTC"
    print(f"Enrollment token for site {issued.site} (one-time, expires {expires}):")
    print(f"  {issued.token}")
    print("On the node host, run:")
    print(
        f"  harmonia-node enroll --data-dir DIR --coordinator {settings.resolved_public_url} "
        f"--token {issued.token}"
    )
    return ExitCode.OK


def _list(args: argparse.Namespace) -> int:
    from coordinator.runtime import open_coordinator

    with open_coordinator(settings_from(args)) as runtime:
        for site in runtime.sites.list():
            enrolled = site.enrolled_at.isoformat(timespec="seconds") if site.enrolled_at else "-"
            print(f"{site.name}\t{site.status}\tenrolled={enrolled}")
    return ExitCode.OK


def _revoke(args: argparse.Namespace) -> int:
    from coordinator.runtime import open_coordinator

    with open_coordinator(settings_from(args)) as runtime:
        site = runtime.sites.revoke(args.name)
    print(f"revoked site {site.name} ({len(site.certificate_serials)} certificate(s))")
    return ExitCode.OK
