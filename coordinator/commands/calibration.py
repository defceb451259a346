"""``harmonia-coordinator calibration``: publish a calibration set as a signed release; list."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from coordinator.commands.options import CLI_ACTOR, add_data_dir, settings_from
from coordinator.errors import CalibrationSetError
from coordinator.exit_codes import ExitCode


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``calibration`` subcommand."""
    parser = subparsers.add_parser(
        "calibration", help="publish or list signed calibration sets (phantom recipes)"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    publish = actions.add_parser("publish", help="sign and publish a .json/.yaml calibration set")
    add_data_dir(publish)
    publish.add_argument("file", type=Path)
    publish.add_argument("--by", default=CLI_ACTOR, help="who publishes it (recorded)")
    publish.set_defaults(func=_publish)
    listing = actions.add_parser("list", help="list published calibration sets")
    add_data_dir(listing)
    listing.set_defaults(func=_list)


def _read(path: Path) -> object:
    try:
        text = path.read_text()
    except OSError as exc:
        raise CalibrationSetError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise CalibrationSetError(f"{path} is not valid JSON/YAML: {exc}") from None


def _publish(args: argparse.Namespace) -> int:
    from coordinator.runtime import open_coordinator

    document = _read(args.file)
    with open_coordinator(settings_from(args)) as runtime:
        info = runtime.calibration.publish(document, published_by=args.by)
    print(
        f"published calibration set {info.set_id}: {info.cases} case(s) for "
        f"{info.guideline}@{info.guideline_version}"
    )
    return ExitCode.OK


def _list(args: argparse.Namespace) -> int:
    from coordinator.runtime import open_coordinator

    with open_coordinator(settings_from(args)) as runtime:
        for info in runtime.calibration.published():
            print(
                f"{info.set_id}\t{info.guideline}@{info.guideline_version}\t{info.cases} case(s)"
                f"\t{info.signed_at}"
            )
    return ExitCode.OK
