"""``harmonia-node import``: ingest a folder tree or a ZIP archive of DICOM files.

Exit codes: 0 every DICOM instance was stored (or already held), 1 some were
rejected (the summary lists each with its reason), 2 PATH does not exist,
3 invalid settings, 5 the import failed (e.g. a damaged archive).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from node.commands.options import add_data_dir, settings_from
from node.exit_codes import ExitCode
from shared.errors import InvalidInputError

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``import`` subcommand."""
    parser = subparsers.add_parser(
        "import",
        help="import DICOM files from a folder (recursively) or a .zip archive",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_dir(parser)
    parser.add_argument("path", type=Path, metavar="PATH", help="a directory or a .zip archive")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="instances ingested in parallel (default 2; about the number of CPU cores)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Import ``args.path`` into the node at ``args.data_dir``; returns the exit code."""
    path: Path = args.path
    if not path.exists():
        print(f"harmonia-node import: {path} does not exist", file=sys.stderr)
        return ExitCode.USAGE
    if args.workers < 1:
        print("harmonia-node import: --workers must be at least 1", file=sys.stderr)
        return ExitCode.USAGE
    from node.commands.reporting import TqdmProgress, exit_code_for, print_summary
    from node.dicom.folder_import import import_path
    from node.runtime import open_node

    settings = settings_from(args)
    with open_node(settings) as runtime, TqdmProgress(f"import {path.name}") as progress:
        try:
            summary = import_path(
                runtime.ingest,
                path,
                max_instance_bytes=settings.max_instance_bytes,
                workers=args.workers,
                progress=progress,
            )
        except InvalidInputError as exc:
            progress.close()
            print(f"harmonia-node import: {exc}", file=sys.stderr)
            return ExitCode.FAILED
    print_summary(summary)
    return exit_code_for(summary)
