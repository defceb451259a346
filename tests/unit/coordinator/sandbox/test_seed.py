"""The sandbox's seed model: public phantoms no site holds, trained into the plan's network."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from coordinator.models import check_architecture
from coordinator.sandbox.errors import CommandFailedError, SandboxError
from coordinator.sandbox.loop import Sandbox, SandboxOptions
from coordinator.sandbox.scenario import site_scenarios, training_plan
from coordinator.sandbox.seed import PUBLIC_SEED_BASE, _public_series, main, pretrain
from shared.schemas import TrainingPlan
from shared.weights import decode_weights

PLAN = TrainingPlan.model_validate(training_plan())


def test_the_public_phantoms_use_seeds_no_site_uses_in_every_sites_style() -> None:
    series = _public_series(3, 4, 0)
    assert [s.spec.seed for s in series] == [PUBLIC_SEED_BASE + n for n in range(4)]
    site_seeds = {
        scenario.case_spec(case).seed for scenario in site_scenarios(26, 50) for case in range(50)
    }
    assert not site_seeds & {s.spec.seed for s in series}
    styles = {scenario.style for scenario in site_scenarios(3, 1)}
    assert {s.spec.style for s in series[:3]} == styles


def test_pretraining_gives_weights_that_fit_the_plan_and_its_facts() -> None:
    weights, facts = pretrain(PLAN, cases=2, epochs=1)
    arrays, metadata = decode_weights(weights)
    assert list(check_architecture(PLAN, arrays)) == list(arrays)
    assert metadata == {"pretrained": facts}
    assert facts["cases"] == 2 and facts["epochs"] == 1 and facts["slices"] == 24
    assert 0.0 <= facts["dice_on_public_held_out"] <= 1.0


def test_the_child_writes_the_weights_file_and_prints_the_facts(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(training_plan()))
    out = tmp_path / "seed.weights"
    assert main([str(plan), str(out), "--cases", "1", "--epochs", "1"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert decode_weights(out.read_bytes())[1] == {"pretrained": facts}
    assert not out.with_suffix(".partial").exists()
    # scoring the written weights on the same public held-out phantoms gives the same Dice
    assert main([str(plan), str(out), "--cases", "1", "--score"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored == {"dice_on_public_held_out": facts["dice_on_public_held_out"]}


def test_a_failed_pretraining_fails_the_step_naming_its_log(tmp_path: Path) -> None:
    sandbox = Sandbox(SandboxOptions(sites=1, data_dir=tmp_path, base_port=21000), io.StringIO())
    with pytest.raises(SandboxError, match="never started"):
        sandbox.import_seed()
    sandbox.seed_training = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.exit(3)"], stdout=subprocess.PIPE, text=True
    )
    with pytest.raises(CommandFailedError, match="exited with 3") as failed:
        sandbox.import_seed()
    assert failed.value.log == sandbox.layout.log("seed-model")
