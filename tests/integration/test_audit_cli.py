"""``harmonia-node user`` and ``audit verify|export`` as real processes on a real SQLite file."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from node.auth import PasswordHasher
from node.exit_codes import ExitCode
from node.runtime import open_node
from node.settings import NodeSettings

pytestmark = pytest.mark.integration

_CLI = [sys.executable, "-c", "import sys; from node.cli import main; sys.exit(main())"]


def _run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HARMONIA_NODE_FSYNC": "false"}
    return subprocess.run(
        [*_CLI, "--log-level", "WARNING", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node with three users and a role change: four audit entries (made in-process)."""
    data_dir = tmp_path_factory.mktemp("template") / "node"
    with open_node(NodeSettings(data_dir=data_dir, fsync=False)) as runtime:
        runtime.users.hasher = PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1)
        for name, role in (("alice", "annotator"), ("bob", "reviewer"), ("carol", "admin")):
            runtime.users.create(name, "correct horse battery", role, actor="setup")
        runtime.users.set_role("alice", "reviewer", actor="carol")
    return data_dir


@pytest.fixture
def data_dir(template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "node"
    shutil.copytree(template, copy, ignore=shutil.ignore_patterns("node.lock"))
    return copy


def _tamper(data_dir: Path, *statements: str) -> None:
    connection = sqlite3.connect(data_dir / "node.sqlite3")
    try:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


def test_user_create_reads_the_password_from_stdin_only(data_dir: Path) -> None:
    created = _run(
        "user", "create", "--data-dir", str(data_dir), "--username", "dave", "--role",
        "annotator", "--password-stdin", stdin="correct horse battery\n",
    )  # fmt: skip
    assert created.returncode == ExitCode.OK, created.stderr
    listed = _run("user", "list", "--data-dir", str(data_dir))
    assert listed.returncode == ExitCode.OK
    assert [line.split("\t")[:2] for line in listed.stdout.splitlines()] == [
        ["alice", "reviewer"],
        ["bob", "reviewer"],
        ["carol", "admin"],
        ["dave", "annotator"],
    ]
    no_tty = _run("user", "create", "--data-dir", str(data_dir), "--username", "erin",
                  "--role", "annotator")  # fmt: skip
    assert no_tty.returncode == ExitCode.FAILED and "--password-stdin" in no_tty.stderr


def test_intact_log_verifies_and_exports(data_dir: Path, tmp_path: Path) -> None:
    verified = _run("audit", "verify", "--data-dir", str(data_dir))
    assert verified.returncode == ExitCode.OK, verified.stderr
    assert verified.stdout.startswith("audit log intact: 4 entries")
    head = verified.stdout.split("(head ")[1].rstrip(")\n")
    anchored = _run("audit", "verify", "--data-dir", str(data_dir), "--expect-head", head)
    assert anchored.returncode == ExitCode.OK, anchored.stderr
    forged = _run("audit", "verify", "--data-dir", str(data_dir), "--expect-head", "9:" + "0" * 64)
    assert forged.returncode == ExitCode.AUDIT_TAMPERED and "rolled back" in forged.stderr
    out = tmp_path / "audit.jsonl"
    exported = _run("audit", "export", "--data-dir", str(data_dir), "--out", str(out))
    assert exported.returncode == ExitCode.OK
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4]
    assert lines[-1]["action"] == "changed" and lines[-1]["detail"] == {"role": "reviewer"}


def test_modified_entry_is_detected(data_dir: Path) -> None:
    _tamper(
        data_dir,
        "DROP TRIGGER audit_log_no_update",
        'UPDATE audit_log SET detail = \'{"role":"annotator"}\' WHERE seq = 4',
    )
    result = _run("audit", "verify", "--data-dir", str(data_dir))
    assert result.returncode == ExitCode.AUDIT_TAMPERED
    assert (
        "TAMPERED at entry 4" in result.stderr and "changed after it was written" in result.stderr
    )
    assert "audit_log_no_update is missing" in result.stderr


def test_deleted_entry_is_detected(data_dir: Path) -> None:
    _tamper(data_dir, "DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE seq = 2")
    result = _run("audit", "verify", "--data-dir", str(data_dir))
    assert result.returncode == ExitCode.AUDIT_TAMPERED
    assert "entry 2 is missing" in result.stderr


def test_truncated_tail_is_detected(data_dir: Path) -> None:
    _tamper(data_dir, "DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE seq >= 3")
    result = _run("audit", "verify", "--data-dir", str(data_dir))
    assert result.returncode == ExitCode.AUDIT_TAMPERED
    assert "TAMPERED at entry 3" in result.stderr and "removed from the end" in result.stderr


def test_triggers_stop_plain_sql_edits(data_dir: Path) -> None:
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        _tamper(data_dir, "UPDATE audit_log SET actor = 'mallory'")
    assert _run("audit", "verify", "--data-dir", str(data_dir)).returncode == ExitCode.OK
