"""``harmonia-node egress verify|export`` as real processes on a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from node.egress import EgressGate, EgressLedger, Outcome, PrivacyBudget, PrivacyCharge, Purpose
from node.errors import EgressRefusedError
from node.exit_codes import ExitCode
from node.runtime import open_node
from node.settings import NodeSettings

pytestmark = pytest.mark.integration

_CLI = [sys.executable, "-c", "import sys; from node.cli import main; sys.exit(main())"]
HEALTH = {"software_version": "0.1.0", "counters": {"instances": 3}}
_DROP = ("DROP TRIGGER egress_ledger_no_update", "DROP TRIGGER egress_ledger_no_delete")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HARMONIA_NODE_FSYNC": "false"}
    return subprocess.run(
        [*_CLI, "--log-level", "WARNING", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node whose gate released two health reports and refused one message."""
    data_dir = tmp_path_factory.mktemp("template") / "node"
    with open_node(NodeSettings(data_dir=data_dir, fsync=False)) as runtime:
        gate = EgressGate(
            runtime.engine,
            site="hospital-a",
            budgets={Purpose.STATISTICS: PrivacyBudget(1.0, 1e-5)},
            ledger_key=runtime.egress_key,
        )
        gate.release("health", HEALTH, "coordinator")
        with pytest.raises(EgressRefusedError):
            gate.release("free_text", {"note": "x"}, "coordinator")
        gate.release("health", HEALTH, "https://coordinator.example:8443/api/v1/site/health")
    return data_dir


@pytest.fixture
def data_dir(template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "node"
    shutil.copytree(template, copy, ignore=shutil.ignore_patterns("node.lock"))
    return copy


def _sql(data_dir: Path, *statements: str) -> None:
    connection = sqlite3.connect(data_dir / "node.sqlite3")
    try:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


def test_verify_prints_the_head_of_an_intact_ledger(data_dir: Path) -> None:
    result = _run("egress", "verify", "--data-dir", str(data_dir))
    assert result.returncode == ExitCode.OK, result.stderr
    assert result.stdout.startswith("egress ledger intact: 3 entries (head 3:")
    head = result.stdout.split("(head ")[1].rstrip(")\n")
    anchored = _run("egress", "verify", "--data-dir", str(data_dir), "--expect-head", head)
    assert anchored.returncode == ExitCode.OK, anchored.stderr


def test_a_changed_row_fails_naming_the_first_bad_entry(data_dir: Path) -> None:
    _sql(data_dir, *_DROP, "UPDATE egress_ledger SET destination = 'elsewhere' WHERE seq = 2")
    result = _run("egress", "verify", "--data-dir", str(data_dir))
    assert result.returncode == ExitCode.EGRESS_LEDGER_TAMPERED
    assert "egress ledger TAMPERED at entry 2: entry 2 was changed" in result.stderr
    assert "trigger egress_ledger_no_update is missing" in result.stderr


def test_a_chain_rewritten_from_scratch_fails(data_dir: Path) -> None:
    _sql(
        data_dir,
        *_DROP,
        "DROP TRIGGER egress_head_forward_only",
        "DELETE FROM egress_ledger",
        "UPDATE egress_head SET seq = 0, entry_hash = '" + "0" * 64 + "', mac = ''",
    )
    with open_node(NodeSettings(data_dir=data_dir, fsync=False)) as runtime:
        forger = EgressLedger(runtime.engine, key=b"not the site secret")
        for _ in range(3):
            forger.record(
                site="hospital-a",
                outcome=Outcome.RELEASED,
                kind="health",
                destination="coordinator",
                byte_count=2,
                sha256="0" * 64,
            )
    result = _run("egress", "verify", "--data-dir", str(data_dir))
    assert result.returncode == ExitCode.EGRESS_LEDGER_TAMPERED
    assert "TAMPERED at entry 1" in result.stderr and "MAC" in result.stderr


def test_a_malformed_expected_head_is_a_usage_error(data_dir: Path) -> None:
    result = _run("egress", "verify", "--data-dir", str(data_dir), "--expect-head", "three")
    assert result.returncode == ExitCode.CONFIGURATION
    assert "SEQ:HASH" in result.stderr and "Traceback" not in result.stderr


def test_export_as_json_lines_and_csv(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "ledger.jsonl"
    written = _run("egress", "export", "--data-dir", str(data_dir), "--out", str(out))
    assert written.returncode == ExitCode.OK, written.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["seq"], r["outcome"], r["kind"]) for r in rows] == [
        (1, "released", "health"),
        (2, "refused", "<not allowed>"),
        (3, "released", "health"),
    ]
    assert all(len(r["mac"]) == 64 and len(r["entry_hash"]) == 64 for r in rows)
    assert rows[1]["reason"].startswith("EgressRefusedError")
    printed = _run("egress", "export", "--data-dir", str(data_dir), "--format", "csv")
    assert printed.returncode == ExitCode.OK, printed.stderr
    table = list(csv.DictReader(io.StringIO(printed.stdout)))
    assert [row["entry_hash"] for row in table] == [r["entry_hash"] for r in rows]
    assert table[2]["destination"] == "https://coordinator.example:8443/api/v1/site/health"
    assert table[0]["round_id"] == "" and table[0]["byte_count"] == str(rows[0]["byte_count"])


def test_unknown_format_is_refused_by_the_parser(data_dir: Path) -> None:
    result = _run("egress", "export", "--data-dir", str(data_dir), "--format", "xml")
    assert result.returncode == ExitCode.USAGE and "invalid choice" in result.stderr


def test_privacy_charge_parameters_are_exported(data_dir: Path) -> None:
    with open_node(NodeSettings(data_dir=data_dir, fsync=False)) as runtime:
        runtime.egress_ledger.record(
            site="hospital-a",
            outcome=Outcome.RELEASED,
            kind="agreement_statistics",
            destination="superlink",
            byte_count=10,
            sha256="a" * 64,
            round_id="r-1",
            purpose=Purpose.STATISTICS,
            charge=PrivacyCharge(0.5, 1e-6, "gaussian"),
        )
    printed = _run("egress", "export", "--data-dir", str(data_dir))
    last = json.loads(printed.stdout.splitlines()[-1])
    assert (last["round_id"], last["mechanism"], last["epsilon"]) == ("r-1", "gaussian", 0.5)
    assert _run("egress", "verify", "--data-dir", str(data_dir)).returncode == ExitCode.OK
