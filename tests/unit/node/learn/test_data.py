import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from node.errors import NotFoundError, PlanMismatchError, TrainingDataError
from node.learn import TrainingData, load_training_data
from node.quality import load_project
from node.settings import NodeSettings
from node.store import create_database_engine
from node.store.annotation_tables import TaskRow
from node.store.schema import StudyRow
from shared.formats.rle import rle_decode
from shared.schemas import TrainingPlan
from tests.support import stats_sites
from tests.support.learn_sites import PROJECT
from tests.unit.node.learn.conftest import seg_plan


def test_samples_follow_the_stored_consensus(site: Path) -> None:
    plan = seg_plan(background_fraction=1.0, input={"size": 64})
    data = load_training_data(site, PROJECT, plan)
    assert data.images.shape == (len(data), 1, 64, 64)
    assert data.targets.shape == (len(data), 1, 64, 64)
    assert set(np.unique(data.targets)) <= {0.0, 1.0}
    assert data.images.min() >= 0.0 and data.images.max() <= 1.0  # the [40, 400] HU window
    assert data.cases == 5 and len(data) == 5 * 16  # every slice kept
    engine = create_database_engine(f"sqlite:///{site / 'node.sqlite3'}", durable=False)
    project = load_project(engine, PROJECT)
    engine.dispose()
    for consensus in project.consensus:
        assert consensus.method == "staple"
        expected = np.zeros((16, 64, 64), bool)
        for annotation in consensus.payload["annotations"]:
            for key, rle in annotation["geometry"]["slices"].items():
                expected[int(key)] |= rle_decode(rle)
        mine = data.targets[data.task_ids == consensus.task_id][:, 0] > 0.5
        assert np.array_equal(mine, expected)
    assert data.skipped == {"not_complete": 0, "no_consensus": 0, "other_category": 0}


def test_split_is_by_patient_and_stable(site: Path) -> None:
    data = load_training_data(site, PROJECT, seg_plan())
    engine = create_database_engine(f"sqlite:///{site / 'node.sqlite3'}", durable=False)
    with Session(engine) as session:
        patient_of = dict(
            session.execute(
                select(TaskRow.id, StudyRow.patient_id).join(
                    StudyRow, StudyRow.study_instance_uid == TaskRow.study_instance_uid
                )
            ).all()
        )
    engine.dispose()
    held = {patient_of[int(t)] for t in data.task_ids[data.validation]}
    trained = {patient_of[int(t)] for t in data.task_ids[~data.validation]}
    assert held and trained and not held & trained
    again = load_training_data(site, PROJECT, seg_plan())
    assert np.array_equal(again.validation, data.validation)
    assert again.fingerprint == data.fingerprint
    assert data.train.num_validation == 0 and data.held_out.num_train == 0
    assert data.num_train + data.num_validation == len(data)


def test_weights_average_one_and_follow_agreement(site: Path) -> None:
    data = load_training_data(site, PROJECT, seg_plan())
    assert data.weights[~data.validation].mean() == pytest.approx(1.0, rel=1e-5)
    assert len(np.unique(data.weights)) > 1  # tasks with different agreement
    flat = load_training_data(
        site, PROJECT, seg_plan(weighting={"confidence": False, "agreement": False})
    )
    assert np.allclose(flat.weights, 1.0)


def test_background_slices_are_subsampled_in_training_only(site: Path) -> None:
    every = load_training_data(site, PROJECT, seg_plan(background_fraction=1.0))
    none = load_training_data(site, PROJECT, seg_plan(background_fraction=0.0))
    assert len(none) < len(every)
    assert none.num_validation == every.num_validation
    assert all(t.any() for t in none.train.targets)


def test_25d_inputs_stack_neighbours(site: Path) -> None:
    plain = load_training_data(site, PROJECT, seg_plan(background_fraction=1.0))
    wide = load_training_data(
        site, PROJECT, seg_plan(background_fraction=1.0, input={"size": 32, "context_slices": 2})
    )
    assert wide.images.shape[1] == 5
    assert np.array_equal(wide.images[:, 2], plain.images[:, 0])
    assert np.array_equal(wide.images[1, 1], plain.images[0, 0])  # slice 1's lower neighbour
    assert np.array_equal(wide.images[0, 0], plain.images[0, 0])  # edges repeat
    assert wide.fingerprint != plain.fingerprint


def test_refusals(site: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no project 'nope'"):
        load_training_data(site, "nope", seg_plan())
    with pytest.raises(PlanMismatchError, match="not in the guideline"):
        load_training_data(site, PROJECT, seg_plan(labels=["liver"]))
    with pytest.raises(TrainingDataError, match="pass blob_dir"):
        engine = create_database_engine(f"sqlite:///{site / 'node.sqlite3'}", durable=False)
        try:
            load_training_data(engine, PROJECT, seg_plan())
        finally:
            engine.dispose()


def test_open_tasks_give_no_training_data(site: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "node.sqlite3").write_bytes((site / "node.sqlite3").read_bytes())
    engine = create_database_engine(f"sqlite:///{copy / 'node.sqlite3'}", durable=False)
    with engine.begin() as connection:
        connection.execute(update(TaskRow).values(status="open"))
    try:
        with pytest.raises(TrainingDataError, match="5 not complete"):
            load_training_data(engine, PROJECT, seg_plan(), blob_dir=site / "instances")
    finally:
        engine.dispose()


def test_settings_and_engine_sources_agree(site: Path) -> None:
    by_dir = load_training_data(site, PROJECT, seg_plan())
    by_settings = load_training_data(NodeSettings(data_dir=site), PROJECT, seg_plan())
    engine = create_database_engine(f"sqlite:///{site / 'node.sqlite3'}", durable=False)
    by_engine = load_training_data(engine, PROJECT, seg_plan(), blob_dir=site / "instances")
    engine.dispose()
    for other in (by_settings, by_engine):
        assert np.array_equal(other.images, by_dir.images)
        assert other.fingerprint == by_dir.fingerprint


def test_classification_samples_from_majority_consensus(tmp_path: Path) -> None:
    data_dir = tmp_path / "a"
    stats_sites.prepare_site(data_dir, stats_sites.PLANS["a"])
    plan = TrainingPlan.model_validate(
        {
            "name": "rads",
            "task": "classification",
            "labels": ["lung-rads"],
            "classes": ["1", "2", "3", "4A"],
            "model": {"architecture": "cnn", "features": [8]},
            "input": {"size": 32, "context_slices": 0, "window": None},
            "validation_fraction": 0.0,
        }
    )
    data = load_training_data(data_dir, stats_sites.PROJECT, plan)
    engine = create_database_engine(f"sqlite:///{data_dir / 'node.sqlite3'}", durable=False)
    project = load_project(engine, stats_sites.PROJECT)
    engine.dispose()
    expected = {
        c.task_id: plan.classes.index(c.payload["annotations"][0]["geometry"]["value"])
        for c in project.consensus
        if c.label == "lung-rads"
    }
    assert data.targets.dtype == np.int64 and data.images.shape[1:] == (1, 32, 32)
    assert dict(zip(data.task_ids.tolist(), data.targets.tolist(), strict=True)) == expected
    assert abs(float(data.images[0].mean())) < 1e-4  # per-slice standardisation
    narrow = TrainingPlan.model_validate(
        {**json.loads(plan.canonical_json()), "classes": ["2", "3"]}
    )
    fewer = load_training_data(data_dir, stats_sites.PROJECT, narrow)
    assert len(fewer) < len(data) and fewer.skipped["other_category"] > 0


def test_from_arrays_checks_shapes() -> None:
    plan = seg_plan()
    data = TrainingData.from_arrays(
        plan, np.zeros((2, 1, 32, 32)), np.zeros((2, 1, 32, 32)), task_ids=[0, 1]
    )
    assert len(data) == 2 and data.weights.tolist() == [1.0, 1.0]
    with pytest.raises(TrainingDataError, match="images must be"):
        TrainingData.from_arrays(plan, np.zeros((2, 3, 32, 32)), np.zeros(2), task_ids=[0, 1])
    with pytest.raises(TrainingDataError, match="2 images but 3 targets"):
        TrainingData.from_arrays(
            plan, np.zeros((2, 1, 32, 32)), np.zeros((3, 1, 32, 32)), task_ids=[0, 1]
        )
