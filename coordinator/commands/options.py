"""Command-line options several subcommands share, and settings built from them."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coordinator.settings import CoordinatorSettings

__all__ = ["CLI_ACTOR", "add_data_dir", "parse_duration", "settings_from"]

CLI_ACTOR = "cli"
"""Who the host's command line acts as in the coordinator's records."""

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """Add the required ``--data-dir`` option."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        help="the coordinator's data directory (database and keys)",
    )


def parse_duration(text: str) -> timedelta:
    """``30m``, ``24h``, ``7d`` as a :class:`timedelta` (for argparse ``type=``)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30m, 24h or 7d")
    value = timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    if value <= timedelta(0):
        raise argparse.ArgumentTypeError("a duration must be positive")
    return value


def settings_from(args: argparse.Namespace, **fields: Any) -> CoordinatorSettings:
    """Settings from ``--data-dir`` plus the given fields; unset (None) fields are left out."""
    from coordinator.settings import CoordinatorSettings  # pydantic-settings: not for --help

    given = {key: value for key, value in fields.items() if value is not None}
    return CoordinatorSettings(data_dir=args.data_dir, **given)
