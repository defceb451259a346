"""``harmonia-coordinator`` in-process: site, guideline and token commands, exit codes."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from pathlib import Path

import pytest

from coordinator.commands.options import parse_duration
from coordinator.exit_codes import ExitCode
from coordinator.runtime import open_coordinator
from coordinator.settings import CoordinatorSettings
from tests.unit.coordinator.commands.conftest import run
from tests.unit.coordinator.conftest import GUIDELINE


def test_site_add_list_revoke(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "site", "add", "hospital-a", "--expires-in", "2h", "--data-dir", str(data_dir)
    )
    assert code == ExitCode.OK
    assert "hce.hospital-a." in out
    assert "harmonia-node enroll" in out
    code, out, _ = run(capsys, "site", "list", "--data-dir", str(data_dir))
    assert out.startswith("hospital-a\tpending")
    code, out, _ = run(capsys, "site", "revoke", "hospital-a", "--data-dir", str(data_dir))
    assert code == ExitCode.OK
    code, out, _ = run(capsys, "site", "list", "--data-dir", str(data_dir))
    assert "revoked" in out
    code, _, err = run(capsys, "site", "revoke", "nowhere", "--data-dir", str(data_dir))
    assert code == ExitCode.FAILED
    assert "no site 'nowhere'" in err


def test_guideline_publish_refuses_a_stale_version(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "lung.json"
    source.write_text(json.dumps(GUIDELINE))
    code, out, _ = run(capsys, "guideline", "publish", str(source), "--data-dir", str(data_dir))
    assert (code, out.split()[:2]) == (ExitCode.OK, ["published", "lung@1"])
    code, _, err = run(capsys, "guideline", "publish", str(source), "--data-dir", str(data_dir))
    assert code == ExitCode.FAILED
    assert "not newer" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [")
    code, _, err = run(capsys, "guideline", "publish", str(broken), "--data-dir", str(data_dir))
    assert code == ExitCode.FAILED
    code, out, _ = run(capsys, "guideline", "list", "--data-dir", str(data_dir))
    assert out.startswith("lung@1\t")


def test_token_create_with_a_role(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "token",
        "create",
        "--user",
        "ed",
        "--role",
        "guideline-editor",
        "--data-dir",
        str(data_dir),
    )
    assert code == ExitCode.OK
    with open_coordinator(CoordinatorSettings(data_dir=data_dir, fsync=False)) as runtime:
        assert runtime.tokens.resolve(out.strip()).role == "guideline-editor"
    code, _, err = run(capsys, "token", "create", "--user", "ghost", "--data-dir", str(data_dir))
    assert code == ExitCode.FAILED
    assert "--role" in err


def test_unsafe_settings_exit_with_the_configuration_code(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARMONIA_COORDINATOR_PROFILE", "production")
    code, _, err = run(capsys, "site", "list", "--data-dir", str(data_dir))
    assert code == ExitCode.CONFIGURATION
    assert "public_url" in err


def test_durations() -> None:
    assert parse_duration("24h") == timedelta(hours=24)
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("7d") == timedelta(days=7)
    for bad in ("24", "h", "-1h", "0s"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_duration(bad)
