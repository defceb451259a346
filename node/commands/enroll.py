"""``harmonia-node enroll``: join the consortium with a one-time token from the coordinator."""

from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError, version

from node.commands.options import add_data_dir, settings_from
from node.exit_codes import ExitCode


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``enroll`` subcommand."""
    parser = subparsers.add_parser(
        "enroll", help="enroll this node in the consortium with a one-time token"
    )
    add_data_dir(parser)
    parser.add_argument(
        "--coordinator", required=True, metavar="URL", help="the coordinator's enrollment URL"
    )
    parser.add_argument("--token", required=True, help="the one-time enrollment token")
    parser.add_argument("--site", default=None, help="the site name (must match the token's)")
    parser.add_argument(
        "--ca-fingerprint",
        default=None,
        metavar="SHA256",
        help="the consortium CA's SHA-256 fingerprint, to check the CA the coordinator returns",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing enrollment (kept aside)"
    )
    parser.set_defaults(func=run)


def _software_version() -> str | None:
    try:
        return version("harmonia")
    except PackageNotFoundError:
        return None


def run(args: argparse.Namespace) -> int:
    """Enroll, print what was pinned."""
    from node.consortium import enroll, token_site
    from node.egress import EgressGate
    from node.runtime import open_node

    settings = settings_from(args)
    site = args.site or token_site(args.token)
    with open_node(settings) as runtime:
        membership = enroll(
            settings.data_dir,
            gate=EgressGate(runtime.engine, site=site, ledger_key=runtime.egress_key),
            coordinator_url=args.coordinator,
            token=args.token,
            site=args.site,
            force=args.force,
            ca_fingerprint=args.ca_fingerprint,
            software_version=_software_version(),
        )
    print(f"Enrolled site {membership.site} (certificate serial {membership.serial})")
    print(f"  site API:      {membership.coordinator_url}")
    print(f"  Fleet address: {membership.fleet_address or '(not configured yet)'}")
    print(f"  certificate valid until {membership.not_after}")
    return ExitCode.OK
