import json
from pathlib import Path

import pytest
from opacus.accountants import RDPAccountant
from sqlalchemy import Engine

from node.egress import (
    BasicComposition,
    EgressGate,
    Outcome,
    PrivacyBudget,
    PrivacyCharge,
    Purpose,
)
from node.errors import BudgetExceededError, TrainingBudgetExceededError
from node.learn.privacy import (
    TRAINING_POLICY_FILE,
    DpStatement,
    TrainingAccountant,
    TrainingPolicy,
    check_training_budget,
    dp_sgd_charge,
    dp_sgd_epsilon,
    exact_rate,
)
from node.stats import gaussian_charge
from node.store import create_database_engine, migrate
from shared.errors import ConfigurationError


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'node.sqlite3'}", durable=False)
    migrate(engine)
    yield engine
    engine.dispose()


def _gate(engine: Engine, budget: PrivacyBudget | None) -> EgressGate:
    return EgressGate(
        engine,
        site="site-a",
        budgets={Purpose.TRAINING: budget} if budget else {},
        accountant=TrainingAccountant(),
    )


@pytest.mark.parametrize(("z", "q", "steps"), [(1.0, 0.01, 1000), (0.8, 0.1, 50), (2.0, 1.0, 3)])
def test_epsilon_is_opacus_rdp_accountants(z: float, q: float, steps: int) -> None:
    accountant = RDPAccountant()
    accountant.history = [(z, q, steps)]
    assert dp_sgd_epsilon(z, q, steps, 1e-5) == pytest.approx(accountant.get_epsilon(1e-5))


@pytest.mark.parametrize("rate", [8 / 3000, 0.123456784, 1 / 3, 1.0, 2e-7, 0.999999999])
def test_exact_rates_round_up_to_what_a_name_carries(rate: float) -> None:
    exact = exact_rate(rate)
    assert exact >= rate and float(f"{exact:.8g}") == exact
    assert exact - rate <= rate * 1e-7


def test_exact_rate_refuses_impossible_rates() -> None:
    for bad in (0.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="sample rate"):
            exact_rate(bad)


def test_charge_names_its_parameters() -> None:
    rate = exact_rate(8 / 3000)
    charge = dp_sgd_charge(1.1, rate, 375, 1e-5)
    assert charge.mechanism == f"dpsgd-z1.1-q{rate:.8g}-s375"
    assert charge.delta == 1e-5 and charge.epsilon > 0
    statement = DpStatement(1.1, rate, 375, 1.0, "case", False, charge.epsilon, 1e-5)
    assert statement.charge == charge


def test_accountant_composes_rounds_like_one_long_run() -> None:
    one = dp_sgd_charge(1.0, 0.05, 100, 1e-5)
    both = TrainingAccountant().compose([one, one])
    accountant = RDPAccountant()
    accountant.history = [(1.0, 0.05, 200)]
    assert both.epsilon == pytest.approx(accountant.get_epsilon(2e-5))
    assert both.delta == pytest.approx(2e-5)
    basic = BasicComposition().compose([one, one])
    assert both.epsilon < basic.epsilon


def test_accountant_reads_gaussian_charges_and_adds_others() -> None:
    gaussian = gaussian_charge(4.0, 3, 1e-6)
    other = PrivacyCharge(0.5, 0.0, "laplace")
    spent = TrainingAccountant().compose([gaussian, other])
    assert spent.epsilon == pytest.approx(gaussian.epsilon + 0.5)
    only_other = TrainingAccountant().compose([other, other])
    assert only_other.epsilon == pytest.approx(1.0)


def test_policy_file(tmp_path: Path) -> None:
    assert TrainingPolicy.load(tmp_path) is None
    (tmp_path / TRAINING_POLICY_FILE).write_text(json.dumps({"epsilon": 8, "delta": 1e-5}))
    policy = TrainingPolicy.load(tmp_path)
    assert policy == TrainingPolicy(8.0, 1e-5)
    assert policy is not None and policy.budget().period is None
    (tmp_path / TRAINING_POLICY_FILE).write_text(
        json.dumps({"epsilon": 8, "delta": 1e-5, "period_days": 30})
    )
    policy = TrainingPolicy.load(tmp_path)
    assert policy is not None and policy.budget().period is not None
    for bad in ("{", json.dumps({"epsilon": 8}), json.dumps({"epsilon": -1, "delta": 0.1})):
        (tmp_path / TRAINING_POLICY_FILE).write_text(bad)
        with pytest.raises(ConfigurationError, match="not a valid training policy"):
            TrainingPolicy.load(tmp_path)


def test_budget_check_allows_then_refuses_and_ledgers_the_refusal(engine: Engine) -> None:
    gate = _gate(engine, PrivacyBudget(5.0, 1e-4))
    charge = dp_sgd_charge(1.0, 0.05, 100, 1e-5)
    after = check_training_budget(gate, charge, round_id="r1")
    assert after.epsilon == pytest.approx(charge.epsilon)
    assert gate.ledger.entries() == []  # a passed check writes nothing
    while True:  # spend the budget through real releases
        try:
            gate.release(
                "model_update",
                {"arrays": {"w": __import__("numpy").zeros(2, "float32")}},
                "superlink",
                round_id="r1",
                privacy=charge,
            )
        except BudgetExceededError:
            break
    with pytest.raises(TrainingBudgetExceededError) as caught:
        check_training_budget(gate, charge, round_id="r9")
    error = caught.value
    assert isinstance(error, BudgetExceededError)
    assert error.purpose == "training" and error.kind == "model_update"
    assert error.epsilon == pytest.approx(charge.epsilon)
    assert error.remaining_epsilon < charge.epsilon
    assert "refused training round r9 before training" in str(error)
    assert "has only epsilon=" in str(error)
    refused = [e for e in gate.ledger.entries() if e.round_id == "r9"]
    assert len(refused) == 1 and refused[0].outcome == Outcome.REFUSED.value
    assert "checked before training" in refused[0].reason


def test_no_budget_refuses_with_a_clear_message(engine: Engine) -> None:
    gate = _gate(engine, None)
    with pytest.raises(TrainingBudgetExceededError, match="no privacy budget is configured"):
        check_training_budget(gate, dp_sgd_charge(1.0, 0.1, 10, 1e-5), round_id="r1")
