"""Command-line options several subcommands share, and settings built from them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from node.settings import NodeSettings

__all__ = ["add_data_dir", "settings_from"]


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """Add the required ``--data-dir`` option."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        help="the node's data directory (SQLite database and instance files)",
    )


def settings_from(args: argparse.Namespace, **fields: Any) -> NodeSettings:
    """Settings from ``--data-dir`` plus the given fields; unset (None) fields are left out.

    Anything not given falls back to ``HARMONIA_NODE_*`` environment variables,
    then to the embedded defaults.
    """
    given = {key: value for key, value in fields.items() if value is not None}
    return NodeSettings(data_dir=args.data_dir, **given)
