from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, text

from node.egress import (
    CanaryScan,
    Denylist,
    EgressGate,
    LedgerEntry,
    Outcome,
    PrivacyBudget,
    PrivacyCharge,
    Purpose,
    Spent,
    decode_payload,
)
from node.errors import BudgetExceededError, CanaryDetectedError, EgressRefusedError

from .conftest import RULES, Clock, agreement_payload, model_payload

GAUSS = PrivacyCharge(epsilon=0.3, delta=1e-6, mechanism="gaussian")
HEALTH = {"software_version": "0.1.0", "counters": {"instances": 3}}


def released(gate: EgressGate) -> list[LedgerEntry]:
    return gate.ledger.entries(outcome=Outcome.RELEASED)


def test_release_returns_the_ledgered_bytes(gate: EgressGate) -> None:
    data = gate.release("agreement_statistics", agreement_payload(), "coordinator", "r-1", GAUSS)
    (entry,) = released(gate)
    assert entry.sha256 == hashlib.sha256(data).hexdigest()
    assert entry.byte_count == len(data)
    assert (entry.kind, entry.destination, entry.round_id) == (
        "agreement_statistics",
        "coordinator",
        "r-1",
    )
    assert (entry.purpose, entry.mechanism, entry.epsilon, entry.delta) == (
        "statistics",
        "gaussian",
        0.3,
        1e-6,
    )
    assert (entry.spent_epsilon, entry.spent_delta) == (0.3, 1e-6)
    assert entry.site == "hospital-a" and entry.recorded_at.startswith("2026-11-28T08:00:00")
    decoded = decode_payload(data)
    np.testing.assert_array_equal(
        decoded["statistics"][0]["arrays"]["counts"],
        agreement_payload()["statistics"][0]["arrays"]["counts"],
    )


def test_unbudgeted_kinds_carry_no_privacy(gate: EgressGate) -> None:
    gate.release("health", HEALTH, "coordinator")
    (entry,) = released(gate)
    assert entry.purpose is None and entry.epsilon is None and entry.spent_epsilon is None
    with pytest.raises(EgressRefusedError, match="takes no privacy parameters"):
        gate.release("health", HEALTH, "coordinator", privacy=GAUSS)


def test_budgeted_kinds_need_privacy(gate: EgressGate, engine: Engine) -> None:
    with pytest.raises(EgressRefusedError, match="state its privacy parameters") as caught:
        gate.release("model_update", model_payload(), "superlink")
    assert caught.value.field == "privacy"
    relaxed = EgressGate(engine, site="hospital-a", rules=RULES, require_privacy=False)
    relaxed.release("model_update", model_payload(), "superlink")
    assert released(relaxed)[-1].epsilon is None


def test_budget_is_spent_and_then_refused_with_what_is_left(gate: EgressGate, clock: Clock) -> None:
    for _ in range(3):
        gate.release("agreement_statistics", agreement_payload(), "coordinator", privacy=GAUSS)
    left = gate.remaining(Purpose.STATISTICS)
    assert left is not None
    assert (left.epsilon, left.delta) == pytest.approx((0.1, 1e-5 - 3e-6))
    with pytest.raises(BudgetExceededError) as caught:
        gate.release("agreement_statistics", agreement_payload(), "coordinator", privacy=GAUSS)
    error = caught.value
    assert error.purpose == "statistics"
    assert error.remaining_epsilon == pytest.approx(0.1)
    assert "only epsilon=0.1" in str(error) and "costs epsilon=0.3" in str(error)
    assert len(released(gate)) == 3
    assert released(gate)[-1].spent_epsilon == pytest.approx(0.9)
    # a smaller release still fits; training has its own budget
    gate.release(
        "agreement_statistics",
        agreement_payload(),
        "coordinator",
        privacy=PrivacyCharge(0.1, 0.0, "laplace"),
    )
    gate.release(
        "model_update", model_payload(), "superlink", privacy=PrivacyCharge(5, 0, "dp-sgd")
    )
    assert gate.remaining(Purpose.TRAINING) == Spent(3.0, 1e-5)


def test_delta_is_budgeted_too(gate: EgressGate) -> None:
    with pytest.raises(BudgetExceededError, match="delta"):
        gate.release(
            "agreement_statistics",
            agreement_payload(),
            "coordinator",
            privacy=PrivacyCharge(0.1, 1e-4, "gaussian"),
        )


def test_purpose_without_budget_releases_nothing(engine: Engine) -> None:
    gate = EgressGate(engine, site="hospital-a", rules=RULES)
    with pytest.raises(BudgetExceededError, match="no privacy budget is configured"):
        gate.release("agreement_statistics", agreement_payload(), "coordinator", privacy=GAUSS)
    assert gate.remaining(Purpose.STATISTICS) is None


def test_budget_period_rolls_over(engine: Engine, clock: Clock) -> None:
    gate = EgressGate(
        engine,
        site="hospital-a",
        rules=RULES,
        budgets={Purpose.STATISTICS: PrivacyBudget(0.5, 1e-5, period=timedelta(days=30))},
        clock=clock,
    )
    gate.release("agreement_statistics", agreement_payload(), "coordinator", privacy=GAUSS)
    with pytest.raises(BudgetExceededError, match="per 30 days"):
        gate.release("agreement_statistics", agreement_payload(), "coordinator", privacy=GAUSS)
    clock.advance(timedelta(days=31))
    gate.release("agreement_statistics", agreement_payload(), "coordinator", privacy=GAUSS)


@pytest.mark.parametrize(
    "charge",
    [
        dict(epsilon=0.0, delta=0.0, mechanism="gaussian"),
        dict(epsilon=float("inf"), delta=0.0, mechanism="gaussian"),
        dict(epsilon=1.0, delta=1.0, mechanism="gaussian"),
        dict(epsilon=1.0, delta=0.0, mechanism="Gaussian noise"),
    ],
)
def test_privacy_charges_are_validated(charge: dict[str, Any]) -> None:
    with pytest.raises(EgressRefusedError):
        PrivacyCharge(**charge)


def test_refusals_are_ledgered_without_payload_values(gate: EgressGate) -> None:
    payload = {"software_version": "0.1.0", "counters": {"CANARY-0123456789": 1}}
    with pytest.raises(CanaryDetectedError):
        gate.release("health", payload, "coordinator")
    with pytest.raises(EgressRefusedError):
        gate.release("patients", {}, "coordinator")
    with pytest.raises(EgressRefusedError, match="destination"):
        gate.release("health", HEALTH, "coordinator; rm -rf /")
    refusals = gate.ledger.entries(outcome=Outcome.REFUSED)
    assert [e.kind for e in refusals] == ["health", "<not allowed>", "health"]
    assert refusals[0].reason == "CanaryDetectedError at $.counters.<key> (phantom_canary)"
    assert refusals[1].reason == "EgressRefusedError at kind"
    assert refusals[2].destination == "<invalid>"
    for entry in refusals:
        assert "CANARY" not in repr(entry)
        assert entry.epsilon is None and entry.byte_count == 0
    assert released(gate) == []


def test_canary_refusal_charges_nothing(engine: Engine) -> None:
    gate = EgressGate(
        engine,
        site="hospital-a",
        rules=RULES,
        scan=CanaryScan(Denylist(terms=("lung-rads",))),  # pretend the label were a name
        budgets={Purpose.STATISTICS: PrivacyBudget(1.0, 1e-5)},
    )
    with pytest.raises(CanaryDetectedError) as caught:
        gate.release("agreement_statistics", agreement_payload(), "coordinator", privacy=GAUSS)
    assert caught.value.field == "$.statistics[0].label"
    assert gate.remaining(Purpose.STATISTICS) == Spent(1.0, 1e-5)
    (entry,) = gate.ledger.entries()
    assert entry.outcome == "refused" and entry.reason.endswith("(denylist)")


def test_ledger_chain_verifies_and_detects_tampering(gate: EgressGate, engine: Engine) -> None:
    gate.release("health", HEALTH, "coordinator")
    gate.release("agreement_statistics", agreement_payload(), "coordinator", privacy=GAUSS)
    with pytest.raises(EgressRefusedError):
        gate.release("nope", {}, "coordinator")
    result = gate.ledger.verify()
    assert result.intact and result.entries == 3
    entries = gate.ledger.entries()
    assert entries[0].prev_hash == "0" * 64
    assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]
    with engine.begin() as connection:  # an attacker with the database file drops the trigger
        connection.execute(text("DROP TRIGGER egress_ledger_no_update"))
        connection.execute(text("UPDATE egress_ledger SET epsilon = 0.01 WHERE seq = 2"))
    broken = gate.ledger.verify()
    assert not broken.intact and broken.first_bad_seq == 2


def test_removed_tail_is_detected(gate: EgressGate, engine: Engine) -> None:
    gate.release("health", HEALTH, "coordinator")
    gate.release("health", HEALTH, "coordinator")
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER egress_ledger_no_delete"))
        connection.execute(text("DELETE FROM egress_ledger WHERE seq = 2"))
    result = gate.ledger.verify()
    assert not result.intact and "removed" in result.problem


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE egress_ledger SET kind = 'health'",
        "DELETE FROM egress_ledger",
        "DELETE FROM egress_head",
        "UPDATE egress_head SET seq = 0",
    ],
)
def test_triggers_keep_the_ledger_append_only(
    gate: EgressGate, engine: Engine, statement: str
) -> None:
    gate.release("health", HEALTH, "coordinator")
    refused = r"append-only|cannot be removed|only moves forward"
    with pytest.raises(Exception, match=refused), engine.begin() as connection:
        connection.execute(text(statement))
    assert gate.ledger.verify().intact


def test_concurrent_releases_never_overspend(engine: Engine) -> None:
    gate = EgressGate(
        engine,
        site="hospital-a",
        rules=RULES,
        budgets={Purpose.STATISTICS: PrivacyBudget(1.0, 1e-5)},
    )
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            gate.release("agreement_statistics", agreement_payload(), "coordinator", privacy=GAUSS)
            result = "released"
        except BudgetExceededError:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 3 + ["released"] * 3
    assert gate.ledger.verify().intact
    assert [e.seq for e in gate.ledger.entries()] == list(range(1, 7))


def test_site_name_is_checked(engine: Engine) -> None:
    from shared.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="not a valid site name") as caught:
        EgressGate(engine, site="Hospital A")
    assert caught.value.setting == "site"
