from pathlib import Path

import pytest

from coordinator.commands.training import run_training
from coordinator.serverapp.training_aggregation import Aggregation
from coordinator.settings import CoordinatorSettings
from shared.errors import ConfigurationError
from shared.schemas.training import TrainingPlan

PLAN = TrainingPlan.model_validate({"name": "seg", "task": "segmentation", "labels": ["lesion"]})


def _settings(tmp_path: Path) -> CoordinatorSettings:
    return CoordinatorSettings(data_dir=tmp_path / "coordinator", fsync=False)


def test_robust_aggregation_with_secure_aggregation_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="individual update"):
        run_training(
            _settings(tmp_path),
            plan=PLAN,
            project="p",
            rounds=1,
            aggregation=Aggregation.KRUM,
            secure_aggregation=True,
        )


def test_secure_aggregation_needs_a_clipped_update(tmp_path: Path) -> None:
    unclipped = PLAN.model_copy(update={"update_clip_norm": None})
    with pytest.raises(ConfigurationError, match="update_clip_norm"):
        run_training(
            _settings(tmp_path), plan=unclipped, project="p", rounds=1, secure_aggregation=True
        )
    clipped = PLAN.model_copy(update={"update_clip_norm": 5.0})
    with pytest.raises(ConfigurationError, match="serve --flower"):  # accepted up to the SuperLink
        run_training(
            _settings(tmp_path), plan=clipped, project="p", rounds=1, secure_aggregation=True
        )


def test_a_run_needs_a_superlink_and_sensible_counts(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="at least 1"):
        run_training(_settings(tmp_path), plan=PLAN, project="p", rounds=0)
    with pytest.raises(ConfigurationError, match="serve --flower"):
        run_training(_settings(tmp_path), plan=PLAN, project="p", rounds=1)
