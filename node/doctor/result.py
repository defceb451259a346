"""What a doctor check answers: a status, one line of what it found, and what to do.

Every failed or warned check carries a **remedy**: the step hospital IT takes
next. A failed check also names its :class:`Problem`, which the command turns
into a registered exit code (``node/exit_codes.py``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CheckResult", "DoctorReport", "Problem", "Status", "failed", "ok", "skipped", "warned"]


class Status(enum.StrEnum):
    """The outcome of one check."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


class Problem(enum.StrEnum):
    """The kind of failure, one per exit code of ``harmonia-node doctor``."""

    COORDINATOR_UNREACHABLE = "coordinator_unreachable"
    TLS_UNTRUSTED = "tls_untrusted"
    CERTIFICATE_INVALID = "certificate_invalid"
    CLOCK_SKEW = "clock_skew"
    STORAGE = "storage"
    INTEGRITY = "integrity"
    BUDGET = "budget"
    PACS_UNREACHABLE = "pacs_unreachable"


@dataclass(frozen=True)
class CheckResult:
    """One check's answer."""

    check: str
    status: Status
    summary: str
    remedy: str = ""
    problem: Problem | None = None

    def to_json(self) -> dict[str, Any]:
        """As ``doctor --json`` prints it."""
        return {
            "check": self.check,
            "status": str(self.status),
            "summary": self.summary,
            "remedy": self.remedy,
            "problem": str(self.problem) if self.problem else None,
        }


def ok(check: str, summary: str) -> CheckResult:
    """A passed check."""
    return CheckResult(check, Status.OK, summary)


def warned(check: str, summary: str, remedy: str) -> CheckResult:
    """A check that passed with something to look at soon."""
    return CheckResult(check, Status.WARN, summary, remedy)


def failed(check: str, problem: Problem, summary: str, remedy: str) -> CheckResult:
    """A failed check, with the kind of problem and the remedy."""
    return CheckResult(check, Status.FAIL, summary, remedy, problem)


def skipped(check: str, why: str) -> CheckResult:
    """A check that could not run (an earlier one failed, or it does not apply)."""
    return CheckResult(check, Status.SKIP, why)


@dataclass
class DoctorReport:
    """Every check's result, in the order they ran."""

    results: list[CheckResult] = field(default_factory=list)

    def add(self, result: CheckResult) -> CheckResult:
        """Record ``result`` and return it."""
        self.results.append(result)
        return result

    @property
    def failures(self) -> list[CheckResult]:
        """The failed checks."""
        return [r for r in self.results if r.status is Status.FAIL]

    @property
    def first_problem(self) -> Problem | None:
        """The problem of the first failed check (it decides the exit code)."""
        return self.failures[0].problem if self.failures else None

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON object."""
        return {
            "healthy": not self.failures,
            "problem": str(self.first_problem) if self.first_problem else None,
            "checks": [r.to_json() for r in self.results],
        }
