"""The systemd units verify and start the commands with the example settings."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.deploy.conftest import DEPLOY
from tests.unit.deploy.env_files import read_env

UNITS = {
    "harmonia-node.service": ("node.env", "HARMONIA_NODE_DATA_DIR"),
    "harmonia-coordinator.service": ("coordinator.env", "HARMONIA_COORDINATOR_DATA_DIR"),
}


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_unit_reads_its_env_file_and_data_dir(unit: str) -> None:
    text = (DEPLOY / "systemd" / unit).read_text()
    env_file, variable = UNITS[unit]
    assert f"EnvironmentFile=/etc/harmonia/{env_file}" in text
    assert f"--data-dir ${{{variable}}}" in text
    assert variable in read_env(DEPLOY / "config" / f"{env_file}.example")
    assert re.search(r"^User=harmonia$", text, flags=re.MULTILINE)
    assert "NoNewPrivileges=yes" in text and "ProtectSystem=strict" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    for unit in UNITS:
        text = (DEPLOY / "systemd" / unit).read_text().replace("/opt/harmonia/bin/", f"{bin_dir}/")
        (tmp_path / unit).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / u) for u in UNITS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "harmonia" not in result.stderr, result.stderr
