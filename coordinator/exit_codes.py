"""Registered exit codes of ``harmonia-coordinator``, each with the help a user needs."""

from __future__ import annotations

import enum

__all__ = ["EXIT_HELP", "ExitCode"]


class ExitCode(enum.IntEnum):
    """Process exit statuses; scripts may rely on them."""

    OK = 0
    USAGE = 2
    CONFIGURATION = 3
    FAILED = 5


EXIT_HELP: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.USAGE: "bad command line: see --help",
    ExitCode.CONFIGURATION: "a setting is invalid or unsafe: fix it and start again",
    ExitCode.FAILED: "the operation failed: the message says why",
}
