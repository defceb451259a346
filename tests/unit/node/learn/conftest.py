from pathlib import Path

import pytest

from shared.schemas import TrainingPlan
from tests.support.learn_sites import default_recipes, prepare_learning_site


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node data directory with 5 phantom cases read by 3 simulated readers (consensus)."""
    data_dir = tmp_path_factory.mktemp("learn") / "north"
    prepare_learning_site(data_dir, default_recipes()[0], 5)
    return data_dir


def seg_plan(**extra: object) -> TrainingPlan:
    return TrainingPlan.model_validate(
        {
            "name": "seg",
            "task": "segmentation",
            "labels": ["lesion"],
            "model": {"features": [8, 16]},
            "input": {"size": 32},
            "batch_size": 8,
            "validation_fraction": 0.4,
            **extra,
        }
    )
