"""``harmonia-coordinator calibration`` and ``harmonization report`` in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from coordinator.cli import main
from coordinator.exit_codes import ExitCode
from tests.unit.coordinator.harmonize.conftest import CALIBRATION, CHEST


def test_publish_list_and_report(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    guideline = tmp_path / "chest.json"
    guideline.write_text(json.dumps(CHEST))
    calibration = tmp_path / "calibration.yaml"
    calibration.write_text(yaml.safe_dump(CALIBRATION))
    where = ["--data-dir", str(data_dir)]
    assert main(["guideline", "publish", str(guideline), *where]) == ExitCode.OK
    assert main(["calibration", "publish", str(calibration), *where]) == ExitCode.OK
    assert "published calibration set chest-cal-1: 4 case(s) for chest@1.0" in (
        capsys.readouterr().out
    )
    assert main(["calibration", "publish", str(calibration), *where]) != ExitCode.OK
    assert "already published" in capsys.readouterr().err
    assert main(["calibration", "list", *where]) == ExitCode.OK
    assert capsys.readouterr().out.startswith("chest-cal-1\tchest@1.0\t4 case(s)")
    assert main(["harmonization", "report", "chest", *where]) == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    assert report["version"] == "1.0" and report["flagged_labels"] == []
    assert main(["harmonization", "report", "chest", "--format", "csv", *where]) == ExitCode.OK
    assert capsys.readouterr().out.startswith("guideline,version,label,scope")
    assert main(["harmonization", "report", "none", *where]) != ExitCode.OK
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main(["calibration", "publish", str(broken), *where]) != ExitCode.OK
