"""Registered exit codes of ``harmonia-node``, each with the help a user needs."""

from __future__ import annotations

import enum

__all__ = ["EXIT_HELP", "ExitCode"]


class ExitCode(enum.IntEnum):
    """Process exit statuses; scripts may rely on them."""

    OK = 0
    SOME_REJECTED = 1
    USAGE = 2
    CONFIGURATION = 3
    SOURCE_UNREACHABLE = 4
    FAILED = 5
    AUDIT_TAMPERED = 6
    EGRESS_LEDGER_TAMPERED = 7


EXIT_HELP: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.SOME_REJECTED: "finished, but some instances were rejected: see the summary",
    ExitCode.USAGE: "bad command line: see --help",
    ExitCode.CONFIGURATION: "a setting is invalid or unsafe: fix it and start again",
    ExitCode.SOURCE_UNREACHABLE: "the PACS or coordinator could not be reached or refused us",
    ExitCode.FAILED: "the operation failed: the message says why",
    ExitCode.AUDIT_TAMPERED: "the audit log failed verification: the message names the first "
    "bad entry; keep the data directory as it is and tell the node's data protection officer",
    ExitCode.EGRESS_LEDGER_TAMPERED: "the egress ledger failed verification: the message names "
    "the first bad entry; keep the data directory as it is, export the ledger for the record and "
    "tell the node's data protection officer",
}
