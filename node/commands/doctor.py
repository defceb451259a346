"""``harmonia-node doctor``: check the node and its path to the coordinator; say the fix.

Runs :func:`node.doctor.run_doctor` (read-only: it changes nothing, and may
run beside a serving node) and prints one line per check, with the remedy
under each failure or warning. ``--json`` prints the report as one JSON
object instead. The exit code names the first failed check's kind (10-17,
see ``node/exit_codes.py``); warnings alone exit 0.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from node.commands.options import add_data_dir, settings_from
from node.exit_codes import EXIT_HELP, ExitCode

if TYPE_CHECKING:
    from node.doctor import CheckResult, DoctorReport

__all__ = ["EXIT_CODE_OF", "register"]

EXIT_CODE_OF: dict[str, ExitCode] = {
    "coordinator_unreachable": ExitCode.DOCTOR_COORDINATOR_UNREACHABLE,
    "tls_untrusted": ExitCode.DOCTOR_TLS_UNTRUSTED,
    "certificate_invalid": ExitCode.DOCTOR_CERTIFICATE_INVALID,
    "clock_skew": ExitCode.DOCTOR_CLOCK_SKEW,
    "storage": ExitCode.DOCTOR_STORAGE,
    "integrity": ExitCode.DOCTOR_INTEGRITY,
    "budget": ExitCode.DOCTOR_BUDGET,
    "pacs_unreachable": ExitCode.DOCTOR_PACS_UNREACHABLE,
}
"""The exit code of each :class:`node.doctor.Problem`, keyed by its value (a ``StrEnum``, so
``EXIT_CODE_OF[problem]`` works) to keep ``node.doctor`` out of the parser's imports."""
_TAG = {"ok": " ok ", "warn": "WARN", "fail": "FAIL", "skip": "skip"}
PACS_TOKEN_ENV = "HARMONIA_PULL_TOKEN"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``doctor`` subcommand."""
    parser = subparsers.add_parser(
        "doctor",
        help="check certificates, the path to the coordinator, storage, ledgers and the PACS",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_dir(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds per network check (default 10)"
    )
    parser.add_argument(
        "--pacs-url", default=None, metavar="URL", help="a DICOMweb root to query (QIDO-RS)"
    )
    parser.add_argument(
        "--pacs-token", default=None, help=f"its bearer token (or ${PACS_TOKEN_ENV})"
    )
    parser.add_argument(
        "--pacs-ca-bundle", type=Path, default=None, help="CA certificates for its TLS"
    )
    parser.add_argument(
        "--pacs-dimse", default=None, metavar="AE@HOST:PORT", help="a DICOM peer to C-ECHO"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the checks, print the report, return the first failure's exit code."""
    from node.doctor import DoctorOptions, run_doctor

    settings = settings_from(args)
    options = DoctorOptions(
        timeout=args.timeout,
        pacs_url=args.pacs_url,
        pacs_token=args.pacs_token or os.environ.get(PACS_TOKEN_ENV),
        pacs_ca_bundle=args.pacs_ca_bundle,
        pacs_dimse=args.pacs_dimse,
    )
    report = run_doctor(settings, options)
    code = exit_code(report)
    if args.json:
        print(json.dumps({**report.to_json(), "exit_code": int(code)}, indent=2))
    else:
        print(render(report, settings.data_dir, code))
    return code


def exit_code(report: DoctorReport) -> ExitCode:
    """The registered exit code of the report's first failure (OK when none failed)."""
    problem = report.first_problem
    return ExitCode.OK if problem is None else EXIT_CODE_OF[problem]


def _line(result: CheckResult, width: int) -> list[str]:
    from node.doctor import Status

    lines = [f"  [{_TAG[result.status]}] {result.check:<{width}}  {result.summary}"]
    if result.remedy and result.status in (Status.FAIL, Status.WARN):
        lines.append(f"  {'':6} {'':<{width}}  fix: {result.remedy}")
    return lines


def render(report: DoctorReport, data_dir: Path, code: ExitCode) -> str:
    """The report as text: one line per check, remedies under failures and warnings."""
    from node.doctor import Status

    width = max((len(r.check) for r in report.results), default=10)
    lines = [f"harmonia-node doctor: {data_dir}"]
    for result in report.results:
        lines.extend(_line(result, width))
    failures = report.failures
    warnings = sum(r.status is Status.WARN for r in report.results)
    if failures:
        lines.append(
            f"{len(failures)} check(s) failed, {warnings} warning(s); exit {int(code)}: "
            f"{EXIT_HELP[code]}"
        )
    else:
        lines.append(f"healthy: no check failed, {warnings} warning(s)")
    return "\n".join(lines)
