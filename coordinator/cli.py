"""``harmonia-coordinator``: the consortium coordinator's command line.

Each subcommand lives in ``coordinator/commands/<name>.py`` and exposes
``register(subparsers)``; this module assembles them and turns domain errors
into registered exit codes with a one-line message, never a traceback.

A command module imports its implementation (the runtime, the domain, numpy,
SQLAlchemy...) inside its handlers, never at the top: building the parser,
``--help`` included, imports only argparse and the exit codes, and a command
imports only what it uses.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from coordinator.exit_codes import ExitCode
from shared.errors import ConfigurationError, HarmoniaError

__all__ = ["build_parser", "main"]


class _Version(argparse.Action):
    def __call__(self, parser: argparse.ArgumentParser, *_args: object, **_kw: object) -> None:
        try:
            print(version("harmonia"))
        except PackageNotFoundError:
            print("unknown (not installed)")
        parser.exit(ExitCode.OK)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered."""
    from coordinator.commands import (
        calibration,
        guideline,
        harmonization,
        model,
        rounds,
        sandbox,
        serve,
        site,
        token,
    )

    parser = argparse.ArgumentParser(
        prog="harmonia-coordinator",
        description="Harmonia consortium coordinator: sites, enrollment, signed guidelines.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=None,
        help="log lines as text (default) or one JSON object per line",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = (serve, site, guideline, token, rounds, model, calibration, harmonization, sandbox)
    for module in commands:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # imported once the command line is parsed, so --help stays light
    from pydantic import ValidationError

    from shared.observability import configure_logging

    configure_logging(args.log_level, args.log_format or "text")
    try:
        return int(args.func(args))
    except ConfigurationError as exc:
        print(f"harmonia-coordinator: configuration error: {exc}", file=sys.stderr)
        return ExitCode.CONFIGURATION
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        print(f"harmonia-coordinator: invalid settings: {problems}", file=sys.stderr)
        return ExitCode.CONFIGURATION
    except HarmoniaError as exc:
        print(f"harmonia-coordinator: {exc}", file=sys.stderr)
        return ExitCode.FAILED
    except KeyboardInterrupt:
        return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
