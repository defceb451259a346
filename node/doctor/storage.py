"""Local checks: disk space, the database, the two hash chains, the privacy budget.

All of them read only. The database is opened without migrating (a schema
behind this version is reported, not upgraded) and SQLite is asked for
``PRAGMA quick_check``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from node.audit import AuditLog, audit_key, verify_audit_log
from node.doctor.result import CheckResult, Problem, failed, ok, skipped, warned
from node.egress import EgressGate, EgressLedger, Purpose, site_ledger_key
from node.observability import NODE_MIGRATIONS
from shared.crypto import ChainVerification
from shared.observability import schema_revisions

__all__ = [
    "MIN_FREE_BYTES",
    "MIN_FREE_RATIO",
    "audit_check",
    "budget_check",
    "database_check",
    "disk_check",
    "ledger_check",
]

MIN_FREE_BYTES = 2 * 1024**3
"""Fail below this much free space on the data directory's file system."""
MIN_FREE_RATIO = 0.10
"""Warn below this fraction free."""
BUDGET_WARN = 0.10
"""Warn when less than this fraction of a privacy budget is left."""

_DPO = (
    "keep the data directory exactly as it is (take a copy), export the log for the record, "
    "and tell the node's data protection officer"
)


def disk_check(data_dir: Path) -> CheckResult:
    """The data directory's file system has room for incoming studies."""
    name = "disk space"
    usage = shutil.disk_usage(data_dir)
    free_gib = usage.free / 1024**3
    text_ = f"{free_gib:.1f} GiB free of {usage.total / 1024**3:.1f} GiB on {data_dir}"
    if usage.free < MIN_FREE_BYTES:
        return failed(
            name,
            Problem.STORAGE,
            text_,
            "free space or grow the volume: the node refuses instances it cannot store, and "
            "the PACS will queue or drop them",
        )
    if usage.free < MIN_FREE_RATIO * usage.total:
        return warned(name, text_, "plan more storage: less than 10% is free")
    return ok(name, text_)


def database_check(engine: Engine) -> CheckResult:
    """The database answers, passes its integrity check, and has this version's schema."""
    name = "database"
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                answer = [row[0] for row in connection.execute(text("PRAGMA quick_check"))]
                if answer != ["ok"]:
                    return failed(
                        name,
                        Problem.INTEGRITY,
                        f"SQLite integrity check failed: {'; '.join(answer[:3])}",
                        "stop the node and restore the data directory from the last backup "
                        "(docs/hospital-it-guide.md, 'Backups and restore')",
                    )
            else:
                connection.execute(text("SELECT 1"))
        current, heads = schema_revisions(engine, NODE_MIGRATIONS)
    except SQLAlchemyError as exc:
        return failed(
            name,
            Problem.STORAGE,
            f"the database does not answer: {str(exc).splitlines()[0]}",
            "check HARMONIA_NODE_DATABASE_URL, that the database server runs and that this "
            "user may connect",
        )
    if current != heads:
        have = ", ".join(sorted(current)) or "none"
        return failed(
            name,
            Problem.STORAGE,
            f"schema at revision {have}, this version needs {', '.join(sorted(heads))}",
            "start the node once ('harmonia-node serve' migrates the database at start)",
        )
    kind = "SQLite quick_check ok" if engine.dialect.name == "sqlite" else "answers"
    return ok(name, f"{engine.dialect.name}: {kind}, schema at {', '.join(sorted(heads))}")


def _chain_result(name: str, result: ChainVerification, what: str) -> CheckResult:
    if not result.intact:
        return failed(
            name,
            Problem.INTEGRITY,
            f"the {what} failed verification at entry {result.first_bad_seq}: {result.problem}",
            _DPO,
        )
    summary = f"{result.entries} entries, chain intact (head {result.head_seq}:{result.head_hash})"
    if result.warnings:
        return warned(name, summary, "; ".join(result.warnings))
    return ok(name, summary)


def ledger_check(engine: Engine, secrets_dir: Path) -> CheckResult:
    """The egress ledger's keyed hash chain verifies."""
    ledger = EgressLedger(engine, key=site_ledger_key(secrets_dir))
    return _chain_result("egress ledger", ledger.verify(), "egress ledger")


def audit_check(engine: Engine, secrets_dir: Path) -> CheckResult:
    """The audit log's keyed hash chain verifies."""
    secret = (secrets_dir / "site.key").read_bytes()
    result = verify_audit_log(AuditLog(engine, key=audit_key(secret)))
    return _chain_result("audit log", result, "audit log")


def budget_check(engine: Engine, data_dir: Path, site: str | None) -> CheckResult:
    """What is left of the statistics privacy budget (``statistics-policy.json``)."""
    from node.stats import StatisticsPolicy
    from node.stats.privacy import RdpAccountant

    name = "privacy budget"
    policy = StatisticsPolicy.load(data_dir)
    if policy is None:
        return skipped(
            name,
            "no statistics policy (DATA_DIR/statistics-policy.json): no statistics leave this node",
        )
    if site is None:
        return skipped(name, "the node is not enrolled")
    budget = policy.budget()
    gate = EgressGate(
        engine,
        site=site,
        budgets={Purpose.STATISTICS: budget},
        accountant=RdpAccountant(),
        ledger_key=site_ledger_key(data_dir / "secrets"),
    )
    left = gate.remaining(Purpose.STATISTICS)
    assert left is not None  # the purpose has a budget
    period = f" per {policy.period_days:g} days" if policy.period_days else ""
    summary = (
        f"statistics: epsilon {left.epsilon:.3g} of {budget.epsilon:g} left, "
        f"delta {left.delta:.3g} of {budget.delta:g}{period}"
    )
    if budget.epsilon > 0 and left.epsilon <= 0:
        return failed(
            name,
            Problem.BUDGET,
            summary,
            "the node refuses statistics rounds until the budget period rolls over or the "
            "site's data protection officer raises epsilon in statistics-policy.json",
        )
    if left.epsilon < BUDGET_WARN * budget.epsilon:
        return warned(name, summary, "less than 10% left: tell the consortium coordinator")
    return ok(name, summary)
