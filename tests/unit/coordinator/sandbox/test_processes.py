"""Child processes: a clean environment, logged commands, a service stopped by PID."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from coordinator.sandbox import (
    CommandFailedError,
    SandboxError,
    Service,
    child_environment,
    free_port,
    run_command,
    wait_healthy,
)


def test_children_get_no_inherited_harmonia_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMONIA_NODE_PROFILE", "production")
    monkeypatch.setenv("UNRELATED", "kept")
    env = child_environment({"HARMONIA_NODE_BOOTSTRAP_TOKEN": "x"})
    assert "HARMONIA_NODE_PROFILE" not in env
    assert env["UNRELATED"] == "kept"
    assert env["HARMONIA_NODE_FSYNC"] == "false"
    assert env["HARMONIA_NODE_BOOTSTRAP_TOKEN"] == "x"


def test_a_command_logs_its_output_and_returns_stdout(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "c.log"
    out = run_command("json.tool", ["--compact"], log=log, stdin='{"a": 1}')
    assert out.strip() == '{"a":1}'
    assert "json.tool --compact" in log.read_text()


def test_a_failing_command_names_its_log(tmp_path: Path) -> None:
    log = tmp_path / "c.log"
    with pytest.raises(CommandFailedError) as raised:
        run_command("json.tool", [], log=log, stdin="not json")
    assert raised.value.log == log and raised.value.returncode != 0
    assert "json.tool" in str(raised.value)
    assert "Expecting value" in log.read_text()


def test_a_service_starts_healthy_and_stops_by_pid(tmp_path: Path) -> None:
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "healthz").write_text("ok")
    port = free_port()
    service = Service(
        "web",
        "http.server",
        ["--bind", "127.0.0.1", "--directory", str(tmp_path / "www"), str(port)],
        f"http://127.0.0.1:{port}",
        tmp_path / "web.log",
    )
    service.start(deadline_s=60)
    try:
        assert service.running() and service.pid is not None
    finally:
        service.stop()
    assert not service.running()
    assert service.process is not None and service.process.returncode is not None


def test_a_process_that_exits_is_reported_with_its_log(tmp_path: Path) -> None:
    import subprocess

    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait()
    with pytest.raises(SandboxError, match=r"exited with status 3 \(log: .*x.log\)"):
        wait_healthy("http://127.0.0.1:9", process, log=tmp_path / "x.log")
