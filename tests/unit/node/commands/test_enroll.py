"""``harmonia-node enroll`` and ``guideline sync`` in-process: refusals and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.cli import main
from node.exit_codes import ExitCode
from tests.support.node_process import free_port

TOKEN = "hce.hospital-a." + "A" * 43


@pytest.fixture(autouse=True)
def _fast_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMONIA_NODE_FSYNC", "false")
    monkeypatch.setenv("HARMONIA_NODE_INGEST_WORKERS", "0")


def test_unreachable_coordinator_exits_with_source_unreachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code = main(["enroll", "--data-dir", str(tmp_path), "--coordinator", url, "--token", TOKEN])
    assert code == ExitCode.SOURCE_UNREACHABLE
    assert "cannot reach the coordinator" in capsys.readouterr().err
    assert not (tmp_path / "consortium").exists()


def test_malformed_token_and_site_mismatch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["enroll", "--data-dir", str(tmp_path), "--coordinator", "http://127.0.0.1:1"]
    assert main([*base, "--token", "nope"]) == ExitCode.FAILED
    assert "not an enrollment token" in capsys.readouterr().err
    assert main([*base, "--token", TOKEN, "--site", "hospital-b"]) == ExitCode.FAILED
    assert "leave --site out" in capsys.readouterr().err


def test_sync_without_enrollment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["guideline", "sync", "--data-dir", str(tmp_path)]) == ExitCode.FAILED
    assert "not enrolled" in capsys.readouterr().err
