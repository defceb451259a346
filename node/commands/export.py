"""``harmonia-node export``: write a project's annotations as DICOM SEG, DICOM SR, NIfTI or COCO."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from node.commands.options import add_data_dir, settings_from
from node.exit_codes import ExitCode

__all__ = ["FORMATS", "register"]

FORMATS = ("dicom-seg", "dicom-sr", "nifti", "coco")
"""``--format``'s choices: the values of :class:`node.export.ExportFormat`
(a unit test keeps them so)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="export a project's consensus and per-reader annotations",
        description=(
            "Write one file per series and reader (and one for the consensus) into OUT, "
            "plus manifest.json listing every file and what was left out and why."
        ),
    )
    add_data_dir(parser)
    parser.add_argument("--project", required=True, help="the project's name")
    parser.add_argument(
        "--format",
        required=True,
        choices=FORMATS,
        help="dicom-seg (masks), dicom-sr (measurements, boxes, points, classifications), "
        "nifti (masks), coco (everything drawn)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="a new or empty folder to write into"
    )
    parser.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from node.export import ProjectExporter
    from node.runtime import open_node

    actor = f"cli:{getpass.getuser()}"
    with open_node(settings_from(args, ingest_workers=0)) as runtime:
        exporter = ProjectExporter(runtime.engine, runtime.store, audit=runtime.audit)
        manifest = exporter.export(args.project, args.format, args.out, actor=actor)
    print(
        f"exported project {manifest.project!r} as {manifest.format.value}: "
        f"{len(manifest.files)} file(s), {len(manifest.skipped)} left out; "
        f"see {args.out / 'manifest.json'}"
    )
    return ExitCode.OK
