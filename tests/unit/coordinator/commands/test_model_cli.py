"""``harmonia-coordinator model import / list / show`` in-process on a real SQLite registry."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch

from coordinator.exit_codes import ExitCode
from shared.models import build_model
from shared.schemas import TrainingPlan
from tests.support.learn_sites import tiny_plan
from tests.unit.coordinator.commands.conftest import run


def test_import_then_list_and_show_the_card(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(tiny_plan()))
    weights = tmp_path / "seed.pt"
    buffer = io.BytesIO()
    torch.save(build_model(TrainingPlan.model_validate(tiny_plan())).state_dict(), buffer)
    weights.write_bytes(buffer.getvalue())
    code, out, err = run(
        capsys, "model", "import", "--data-dir", str(data_dir), "--plan", str(plan_path),
        "--weights", str(weights), "--source", "pre-trained on public phantoms",
    )  # fmt: skip
    assert code == ExitCode.OK, err
    version = json.loads(out)
    assert (version["name"], version["version"], version["sites"]) == ("lesion-seg", 1, [])
    code, out, _ = run(capsys, "model", "list", "--data-dir", str(data_dir))
    assert out.startswith("lesion-seg:1\t") and "\timported\tsites none\t" in out
    code, out, _ = run(capsys, "model", "show", "lesion-seg:1", "--data-dir", str(data_dir))
    assert out.startswith("# Model card: lesion-seg v1") and "pre-trained on public phantoms" in out
    code, out, _ = run(capsys, "model", "show", "lesion-seg", "--json", "--data-dir", str(data_dir))
    assert json.loads(out)["model"]["version"] == 1


def test_bad_input_is_a_one_line_error_and_registers_nothing(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(tiny_plan()))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00" * 64)
    common = ("--data-dir", str(data_dir), "--plan", str(plan_path), "--source", "x")
    code, _, err = run(capsys, "model", "import", *common, "--weights", str(junk))
    assert code != ExitCode.OK and "neither a Harmonia weights file" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "model", "import", *common, "--weights", str(tmp_path / "none"))
    assert code != ExitCode.OK and "cannot read" in err
    code, _, err = run(capsys, "model", "show", "lesion-seg:x", "--data-dir", str(data_dir))
    assert code != ExitCode.OK and "not a version number" in err
    code, _, err = run(capsys, "model", "show", "lesion-seg", "--data-dir", str(data_dir))
    assert code != ExitCode.OK and "no model 'lesion-seg' in the registry" in err
    code, out, _ = run(capsys, "model", "list", "--data-dir", str(data_dir))
    assert code == ExitCode.OK and out == ""
