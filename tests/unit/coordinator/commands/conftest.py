"""The coordinator's commands run in-process on a fresh data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator.cli import main


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HARMONIA_COORDINATOR_FSYNC", "false")
    return tmp_path / "coordinator"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``harmonia-coordinator ARGS`` in this process: exit status, stdout, stderr."""
    code = main([*args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err
