"""``harmonia-node doctor`` on a real data directory (not enrolled), text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.cli import main
from node.commands.doctor import EXIT_CODE_OF
from node.doctor import DoctorOptions, Problem, Status, run_doctor
from node.exit_codes import EXIT_HELP, ExitCode
from node.runtime import NodeRuntime
from node.settings import NodeSettings


def test_every_problem_has_a_registered_exit_code() -> None:
    assert set(EXIT_CODE_OF) == set(Problem)
    assert len(set(EXIT_CODE_OF.values())) == len(Problem)
    for code in EXIT_CODE_OF.values():
        assert EXIT_HELP[code].startswith("doctor:")


def test_a_fresh_node_is_healthy_but_not_enrolled(runtime: NodeRuntime) -> None:
    report = run_doctor(runtime.settings)
    by_name = {r.check: r for r in report.results}
    assert by_name["enrollment"].status is Status.WARN
    assert "harmonia-node enroll" in by_name["enrollment"].remedy
    for name in ("database", "egress ledger", "audit log"):
        assert by_name[name].status is Status.OK, by_name[name]
    assert by_name["privacy budget"].status is Status.SKIP
    assert report.first_problem is None


def test_the_command_prints_text_and_json(
    runtime: NodeRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = str(runtime.settings.data_dir)
    assert main(["doctor", "--data-dir", data_dir]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "[WARN] enrollment" in out and "fix: enroll with" in out
    assert "healthy: no check failed" in out
    assert main(["doctor", "--data-dir", data_dir, "--json"]) == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    assert report["healthy"] is True and report["exit_code"] == 0
    assert {c["check"] for c in report["checks"]} >= {"database", "egress ledger", "disk space"}


def test_a_missing_data_directory_is_a_storage_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["doctor", "--data-dir", str(tmp_path / "nowhere")])
    out = capsys.readouterr().out
    assert code == ExitCode.DOCTOR_STORAGE
    assert "[FAIL] data directory" in out and "fix:" in out
    assert not (tmp_path / "nowhere").exists()


def test_a_directory_without_a_database_is_not_created(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    report = run_doctor(NodeSettings(data_dir=tmp_path / "empty"), DoctorOptions(timeout=2))
    assert report.first_problem is Problem.STORAGE
    assert list((tmp_path / "empty").iterdir()) == []


def test_an_unreachable_pacs_sets_its_exit_code(
    runtime: NodeRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.node_process import free_port

    code = main(
        [
            "doctor",
            "--data-dir",
            str(runtime.settings.data_dir),
            "--pacs-url",
            f"http://127.0.0.1:{free_port()}/dicom-web",
            "--timeout",
            "5",
        ]
    )
    assert code == ExitCode.DOCTOR_PACS_UNREACHABLE
    assert "[FAIL] pacs dicomweb" in capsys.readouterr().out
