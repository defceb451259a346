"""Command-line options several subcommands share, and settings built from them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.errors import ConfigurationError

if TYPE_CHECKING:
    from node.settings import NodeSettings

__all__ = ["add_data_dir", "add_expect_head", "parse_head", "settings_from"]


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
    from node.settings import NodeSettings  # pydantic-settings: not for --help

    given = {key: value for key, value in fields.items() if value is not None}
    return NodeSettings(data_dir=args.data_dir, **given)


def add_expect_head(parser: argparse.ArgumentParser, log: str) -> None:
    """Add ``--expect-head SEQ:HASH`` to a ``verify`` of a hash-chained ``log``."""
    parser.add_argument(
        "--expect-head",
        metavar="SEQ:HASH",
        default=None,
        help=f"a head printed by an earlier verify and kept off the node: the {log} must still "
        "hold that entry with that hash (detects a rollback to an old copy)",
    )


def parse_head(text: str | None, command: str) -> tuple[int, str] | None:
    """``--expect-head``'s ``(seq, hash)``, or None when not given.

    Raises
    ------
    ConfigurationError
        It does not read ``SEQ:HASH``.
    """
    if text is None:
        return None
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise ConfigurationError(
            f"--expect-head {text!r} must read SEQ:HASH, as `{command}` prints the head "
            "(e.g. 42:3f9a...)",
            setting="expect_head",
        )
    return int(seq), digest.lower()
