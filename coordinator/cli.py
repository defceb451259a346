"""``harmonia-coordinator``: the consortium coordinator's command line.

The coordinator's services (guideline registry, enrollment, rounds) are not
part of this release; the command exists so deployments can pin its name.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line; only ``--version`` exists in this release."""
    parser = argparse.ArgumentParser(
        prog="harmonia-coordinator",
        description="Harmonia consortium coordinator. Its services arrive in a later release.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    args = parser.parse_args(argv)
    if args.version:
        try:
            print(version("harmonia"))
        except PackageNotFoundError:
            print("unknown (not installed)")
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
