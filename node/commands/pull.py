"""``harmonia-node pull``: retrieve studies from a PACS over DICOMweb into the node.

Choose studies by UID (``--study``, repeatable) and/or by a QIDO-RS query
(``--query KEY=VALUE``, repeatable; e.g. ``PatientID=123``,
``StudyDate=20200101-20201231``, ``ModalitiesInStudy=CT``).

Credentials: ``--token`` (or the ``HARMONIA_PULL_TOKEN`` environment variable,
which keeps the token out of the process list) sends a bearer token;
``--user`` sends HTTP Basic with the password from ``HARMONIA_PULL_PASSWORD``.

Exit codes: 0 everything stored (or already held), 1 some instances, series
or studies were rejected (listed with reasons), 2 bad command line,
3 invalid settings, 4 the PACS could not be reached or refused the credentials.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from node.commands.options import add_data_dir, settings_from
from node.errors import QueryError, RemoteSourceError
from node.exit_codes import ExitCode

__all__ = ["register", "run"]

TOKEN_ENV = "HARMONIA_PULL_TOKEN"
PASSWORD_ENV = "HARMONIA_PULL_PASSWORD"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``pull`` subcommand."""
    parser = subparsers.add_parser(
        "pull",
        help="retrieve studies from a PACS over DICOMweb (QIDO-RS + WADO-RS)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_dir(parser)
    parser.add_argument(
        "--from",
        dest="source_url",
        required=True,
        metavar="URL",
        help="the PACS's DICOMweb root, e.g. https://pacs.example/dicom-web",
    )
    parser.add_argument(
        "--study", action="append", default=[], metavar="UID", help="Study Instance UID"
    )
    parser.add_argument(
        "--query", action="append", default=[], metavar="KEY=VALUE", help="QIDO-RS study filter"
    )
    parser.add_argument("--token", default=None, help=f"bearer token (or ${TOKEN_ENV})")
    parser.add_argument(
        "--user", default=None, help=f"HTTP Basic user; password from ${PASSWORD_ENV}"
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the PACS (default 60)"
    )
    parser.add_argument(
        "--ca-bundle", type=Path, default=None, help="CA certificates for the PACS's TLS"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Pull the chosen studies into the node at ``args.data_dir``; returns the exit code."""
    if not args.study and not args.query:
        return _usage("give at least one --study UID or --query KEY=VALUE")
    from node.commands.reporting import TqdmProgress, exit_code_for, print_summary
    from node.dicom.pacs_pull import PacsPuller, parse_query
    from node.runtime import open_node

    try:
        query = parse_query(args.query)
    except QueryError as exc:
        return _usage(str(exc))
    basic_auth = None
    if args.user is not None:
        password = os.environ.get(PASSWORD_ENV)
        if password is None:
            return _usage(f"--user needs the password in the {PASSWORD_ENV} environment variable")
        basic_auth = (args.user, password)
    token = args.token or os.environ.get(TOKEN_ENV) or None
    settings = settings_from(args)
    verify: bool | str = str(args.ca_bundle) if args.ca_bundle else True
    with (
        open_node(settings) as runtime,
        PacsPuller(
            runtime.ingest,
            args.source_url,
            max_instance_bytes=settings.max_instance_bytes,
            token=token,
            basic_auth=basic_auth,
            timeout=args.timeout,
            verify=verify,
        ) as puller,
    ):
        try:
            studies = list(dict.fromkeys(args.study))
            if query:
                found = puller.find_studies(query)
                print(f"query matched {len(found)} stud{'y' if len(found) == 1 else 'ies'}")
                studies += [uid for uid in found if uid not in studies]
            with TqdmProgress(f"pull {len(studies)} studies", unit="instance") as progress:
                summary = puller.pull(studies, progress=progress)
        except RemoteSourceError as exc:
            print(f"harmonia-node pull: {exc}", file=sys.stderr)
            return ExitCode.SOURCE_UNREACHABLE
    print_summary(summary)
    return exit_code_for(summary)


def _usage(message: str) -> int:
    print(f"harmonia-node pull: {message}", file=sys.stderr)
    return ExitCode.USAGE
