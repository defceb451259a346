from __future__ import annotations

from pathlib import Path

import pytest

from node.auth import Role
from node.cli import main
from node.exit_codes import ExitCode
from node.runtime import open_node
from node.settings import NodeSettings
from tests.unit.node.annotate.conftest import EXAMPLE, ingest_phantom


def test_load_guideline_and_create_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "node"
    with open_node(NodeSettings(data_dir=data_dir, fsync=False)) as runtime:
        ingest_phantom(runtime)
        for name in ("alice", "bob", "carol"):
            runtime.users.create(name, None, Role.ANNOTATOR)
    assert main(["guideline", "load", "--data-dir", str(data_dir), str(EXAMPLE)]) == ExitCode.OK
    assert "loaded lung-nodule@1.0 sha256=" in capsys.readouterr().out
    assert main(["guideline", "load", "--data-dir", str(data_dir), str(EXAMPLE)]) == ExitCode.OK
    assert "already loaded" in capsys.readouterr().out
    args = ["project", "create", "--data-dir", str(data_dir), "--name", "lung"]
    args += ["--guideline", "lung-nodule@1.0", "--modality", "CT", "--readers", "alice,bob,carol"]
    assert main([*args, "--readers-per-task", "2"]) == ExitCode.OK
    assert "created project lung: 1 task(s), 2 reader(s) per task" in capsys.readouterr().out
    assert main(["project", "list", "--data-dir", str(data_dir)]) == ExitCode.OK
    assert "lung\tlung-nodule@1.0\t1 task(s)" in capsys.readouterr().out
    assert main(["guideline", "list", "--data-dir", str(data_dir)]) == ExitCode.OK
    assert "lung-nodule@1.0" in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "node"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    assert main(["guideline", "load", "--data-dir", str(data_dir), str(bad)]) == ExitCode.FAILED
    assert "not a valid guideline" in capsys.readouterr().err
    args = ["project", "create", "--data-dir", str(data_dir), "--name", "p", "--readers", "a"]
    assert main([*args, "--guideline", "nover"]) == ExitCode.FAILED
    assert "NAME@VERSION" in capsys.readouterr().err
    assert main([*args, "--guideline", "lung-nodule@1.0"]) == ExitCode.FAILED
    assert "no guideline lung-nodule@1.0" in capsys.readouterr().err
