from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from node.egress import EgressGate, Outcome, PrivacyBudget, Purpose
from node.errors import PlanMismatchError, TrainingBudgetExceededError
from node.learn import (
    TrainingAccountant,
    dp_schedule,
    evaluate_local,
    initial_seed,
    initial_weights,
    load_training_data,
    round_statement,
    train_local,
)
from node.settings import DeploymentProfile, NodeSettings
from node.store import create_database_engine
from shared.errors import ConfigurationError
from shared.models import WeightsMismatchError, add_weights, build_model, model_weights, update_norm
from tests.support.learn_sites import PROJECT
from tests.unit.node.learn.conftest import seg_plan

DP = {"noise_multiplier": 1.0, "max_grad_norm": 1.0, "unit": "sample"}


@pytest.fixture
def engine(site: Path) -> Engine:
    engine = create_database_engine(f"sqlite:///{site / 'node.sqlite3'}", durable=False)
    yield engine
    engine.dispose()


def _gate(engine: Engine, site: str, epsilon: float) -> EgressGate:
    return EgressGate(
        engine,
        site=site,
        budgets={Purpose.TRAINING: PrivacyBudget(epsilon, 1e-3)},
        accountant=TrainingAccountant(),
    )


def test_round_one_starts_from_the_shared_initial_weights() -> None:
    plan = seg_plan()
    a, b = initial_weights(plan), initial_weights(plan)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert initial_seed(plan) == initial_seed(seg_plan())
    assert initial_seed(seg_plan(learning_rate=0.5)) != initial_seed(plan)


def test_a_plain_round_returns_the_update_and_is_reproducible(site: Path) -> None:
    plan = seg_plan(local_epochs=2)
    data = load_training_data(site, PROJECT, plan)
    update = train_local(site, PROJECT, plan, None, round_id="r1", seed=7, data=data)
    start = initial_weights(plan)
    assert update.is_delta and update.privacy is None and update.dp is None
    assert [a.shape for a in update.arrays] == [w.shape for w in start]
    assert update.num_examples == data.num_train
    assert update.metrics["update_norm"] > 0 and update.metrics["clipped"] == 0.0
    assert update.metrics["val_num_examples"] == data.num_validation
    assert 0.0 <= update.metrics["val_dice"] <= 1.0
    again = train_local(site, PROJECT, plan, None, round_id="r1", seed=7, data=data)
    assert all(np.allclose(x, y) for x, y in zip(update.arrays, again.arrays, strict=True))
    moved = train_local(
        site, PROJECT, plan, add_weights(start, update.arrays), round_id="r2", seed=8, data=data
    )
    assert not all(np.allclose(x, y) for x, y in zip(moved.arrays, update.arrays, strict=True))


def test_training_lowers_the_loss(site: Path) -> None:
    plan = seg_plan(local_epochs=6, learning_rate=3e-3)
    data = load_training_data(site, PROJECT, plan)
    before = evaluate_local(site, PROJECT, plan, initial_weights(plan), data=data)
    update = train_local(site, PROJECT, plan, None, round_id="r1", seed=1, data=data)
    after = evaluate_local(
        site, PROJECT, plan, add_weights(initial_weights(plan), update.arrays), data=data
    )
    assert after["loss"] < before["loss"]
    assert after["num_examples"] == data.num_validation
    assert set(after) >= {"dice", "dice_per_case", "loss", "num_examples"}


def test_updates_are_clipped_to_the_plan_norm(site: Path) -> None:
    plan = seg_plan(update_clip_norm=0.05, local_epochs=2)
    update = train_local(site, PROJECT, plan, None, round_id="r1", seed=3)
    assert update.metrics["update_norm"] > 0.05 and update.metrics["clipped"] == 1.0
    assert update_norm(update.arrays) == pytest.approx(0.05, rel=1e-4)


def test_wrong_global_weights_and_stale_caches_are_refused(site: Path) -> None:
    plan = seg_plan()
    wrong = model_weights(build_model(seg_plan(model={"features": [8, 16, 32]})))
    with pytest.raises(WeightsMismatchError):
        train_local(site, PROJECT, plan, wrong, round_id="r1", seed=0)
    data = load_training_data(site, PROJECT, plan)
    with pytest.raises(PlanMismatchError, match="another plan"):
        train_local(site, PROJECT, seg_plan(local_epochs=3), None, round_id="r1", data=data)


def test_dp_round_states_its_cost_before_training_and_hands_the_charge_over(
    site: Path, engine: Engine
) -> None:
    plan = seg_plan(privacy=DP, local_epochs=1)
    data = load_training_data(site, PROJECT, plan)
    with pytest.raises(ConfigurationError, match="egress gate"):
        train_local(site, PROJECT, plan, None, round_id="r1", data=data)
    gate = _gate(engine, "dp-site", 100.0)
    update = train_local(site, PROJECT, plan, None, round_id="r1", seed=2, data=data, gate=gate)
    schedule = dp_schedule(plan, data.train)
    expected = round_statement(plan, schedule, secure=False)
    assert update.dp == expected
    assert update.privacy == expected.charge
    assert schedule.units == data.num_train and schedule.sample_rate == pytest.approx(
        8 / data.num_train, rel=1e-6
    )
    assert update.metrics["epsilon"] == pytest.approx(expected.epsilon)
    released = gate.release(
        "model_update",
        {"arrays": {f"w{i}": a for i, a in enumerate(update.arrays)}},
        "superlink",
        round_id="r1",
        privacy=update.privacy,
    )
    assert released
    entry = gate.ledger.entries()[-1]
    assert entry.outcome == Outcome.RELEASED.value and entry.epsilon == pytest.approx(
        expected.epsilon
    )


def test_a_round_over_budget_is_refused_before_any_training(site: Path, engine: Engine) -> None:
    plan = seg_plan(privacy=DP)
    data = load_training_data(site, PROJECT, plan)
    cost = round_statement(plan, dp_schedule(plan, data.train), secure=False).epsilon
    gate = _gate(engine, "poor-site", cost * 0.5)
    with pytest.raises(TrainingBudgetExceededError, match="refused training round r7") as caught:
        train_local(site, PROJECT, plan, None, round_id="r7", data=data, gate=gate)
    assert caught.value.epsilon == pytest.approx(cost)
    refused = [e for e in gate.ledger.entries() if e.round_id == "r7"]
    assert [e.outcome for e in refused] == [Outcome.REFUSED.value]


def test_production_profile_forces_the_secure_rng(site: Path, engine: Engine) -> None:
    plan = seg_plan(privacy={**DP, "unit": "case"})
    data = load_training_data(site, PROJECT, plan)
    settings = NodeSettings(data_dir=site, profile=DeploymentProfile.PRODUCTION)
    update = train_local(
        site,
        PROJECT,
        plan,
        None,
        round_id="r1",
        data=data,
        settings=settings,
        gate=_gate(engine, "prod-site", 100.0),
    )
    assert update.dp is not None and update.dp.secure_rng and update.dp.unit == "case"
    assert dp_schedule(plan, data.train).units == data.train.cases
    assert update.metrics["update_norm"] > 0


def test_fit_reports_each_epoch() -> None:
    from node.learn import TrainingData
    from node.learn.training import fit

    plan = seg_plan(local_epochs=3)
    rng = np.random.default_rng(0)
    data = TrainingData.from_arrays(
        plan,
        rng.random((4, 1, 32, 32)),
        (rng.random((4, 1, 32, 32)) > 0.9).astype(np.float32),
        task_ids=[0, 0, 1, 1],
    )
    model = build_model(plan, seed=0)
    seen: list[int] = []
    loss = fit(model, data, plan, seed=0, on_epoch=seen.append)
    assert seen == [1, 2, 3] and np.isfinite(loss) and model.training
