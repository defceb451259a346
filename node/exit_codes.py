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
    # harmonia-node doctor: the first failed check's kind (docs/hospital-it-guide.md)
    DOCTOR_COORDINATOR_UNREACHABLE = 10
    DOCTOR_TLS_UNTRUSTED = 11
    DOCTOR_CERTIFICATE_INVALID = 12
    DOCTOR_CLOCK_SKEW = 13
    DOCTOR_STORAGE = 14
    DOCTOR_INTEGRITY = 15
    DOCTOR_BUDGET = 16
    DOCTOR_PACS_UNREACHABLE = 17


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
    ExitCode.DOCTOR_COORDINATOR_UNREACHABLE: "doctor: the coordinator or its Fleet API cannot be "
    "reached (DNS, firewall, proxy): see the failed check's remedy",
    ExitCode.DOCTOR_TLS_UNTRUSTED: "doctor: a certificate on the path is not from the pinned "
    "consortium CA (TLS inspection, wrong server or a replaced CA bundle)",
    ExitCode.DOCTOR_CERTIFICATE_INVALID: "doctor: the node's certificate is expired, refused or "
    "revoked: enroll again with a new token",
    ExitCode.DOCTOR_CLOCK_SKEW: "doctor: this host's clock is off: enable NTP",
    ExitCode.DOCTOR_STORAGE: "doctor: disk space, the data directory or the database is not usable",
    ExitCode.DOCTOR_INTEGRITY: "doctor: the database, the egress ledger or the audit log failed "
    "verification: keep the data directory as it is and tell the data protection officer",
    ExitCode.DOCTOR_BUDGET: "doctor: the privacy budget is spent: statistics rounds are refused",
    ExitCode.DOCTOR_PACS_UNREACHABLE: "doctor: the PACS given did not answer or refused us",
}
