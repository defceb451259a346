from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from node.errors import NotFoundError
from node.learn import dice_score, initial_weights, predict, predict_series
from node.learn.volumes import read_volume
from node.quality import load_project
from node.store import FileBlobStore, InstanceStore, create_database_engine
from node.store.annotation_tables import TaskRow
from shared.schemas import TrainingPlan
from tests.support.learn_sites import PROJECT
from tests.unit.node.learn.conftest import seg_plan


def _volume(site: Path) -> tuple[str, np.ndarray]:
    engine = create_database_engine(f"sqlite:///{site / 'node.sqlite3'}", durable=False)
    try:
        task = next(iter(load_project(engine, PROJECT).tasks.values()))
        store = InstanceStore(engine, FileBlobStore(site / "instances", fsync=False))
        with Session(engine) as session:
            series = session.execute(
                select(TaskRow.series_instance_uid).where(TaskRow.id == task.id)
            ).scalar_one()
        return series, read_volume(store, task.slices)
    finally:
        engine.dispose()


def test_segmentation_probabilities_come_back_at_the_series_size(site: Path) -> None:
    plan = seg_plan()  # 32 × 32 model input, 64 × 64 series
    series, volume = _volume(site)
    assert volume.shape == (16, 64, 64)
    assert volume.min() < -500  # Hounsfield units (air, lungs)
    result = predict(plan, initial_weights(plan), volume)
    assert result.probabilities.shape == (16, 1, 64, 64)
    assert result.probabilities.min() >= 0.0 and result.probabilities.max() <= 1.0
    assert result.entropy is not None and result.entropy.shape == result.probabilities.shape
    assert 0.0 <= result.uncertainty <= 1.0
    stored = predict_series(site, plan, initial_weights(plan), series)
    assert np.allclose(stored.probabilities, result.probabilities)
    with pytest.raises(NotFoundError, match="not part of any annotation task"):
        predict_series(site, plan, initial_weights(plan), "2.25.1")
    with pytest.raises(ValueError, match="slices, rows, columns"):
        predict(plan, initial_weights(plan), volume[0])


def test_mc_dropout_averages_stochastic_passes(site: Path) -> None:
    plan = seg_plan(model={"features": [8, 16], "dropout": 0.5})
    _, volume = _volume(site)
    weights = initial_weights(plan)
    plain = predict(plan, weights, volume)
    assert np.array_equal(plain.probabilities, predict(plan, weights, volume).probabilities)
    a = predict(plan, weights, volume, mc_samples=4, seed=1)
    b = predict(plan, weights, volume, mc_samples=4, seed=2)
    assert not np.allclose(a.probabilities, b.probabilities)
    same = predict(plan, weights, volume, mc_samples=4, seed=1)
    assert np.array_equal(a.probabilities, same.probabilities)


def test_classification_probabilities_and_normalised_entropy(site: Path) -> None:
    plan = TrainingPlan.model_validate(
        {
            "name": "cls",
            "task": "classification",
            "labels": ["c"],
            "classes": ["a", "b", "c"],
            "model": {"architecture": "densenet", "features": [8, 16]},
            "input": {"size": 32, "context_slices": 1},
        }
    )
    _, volume = _volume(site)
    result = predict(plan, initial_weights(plan), volume)
    assert result.probabilities.shape == (3,)
    assert result.probabilities.sum() == pytest.approx(1.0, rel=1e-5)
    assert 0.0 <= result.uncertainty <= 1.0 and result.entropy is None


def test_dice_score() -> None:
    assert dice_score(np.zeros(4), np.zeros(4)) == 1.0
    assert dice_score([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(2 / 3)
    assert dice_score([1, 0], [0, 1]) == 0.0
