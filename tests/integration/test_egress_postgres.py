"""The egress ledger and privacy budgets on a real PostgreSQL server (row lock on the head)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from node.egress import EgressGate, Outcome, PrivacyBudget, PrivacyCharge, Purpose
from node.errors import BudgetExceededError
from node.runtime import NodeRuntime, open_node
from node.settings import NodeSettings
from tests.support.postgres import PostgresServer, postgres_bin_dir, running_postgres
from tests.unit.node.egress.conftest import RULES, agreement_payload

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(postgres_bin_dir() is None, reason="PostgreSQL server not installed"),
]


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeRuntime]:
    server: PostgresServer
    with running_postgres() as server:
        settings = NodeSettings(data_dir=tmp_path / "node", database_url=server.url, fsync=False)
        with open_node(settings) as runtime:
            yield runtime


def test_concurrent_releases_never_overspend_and_triggers_hold(node: NodeRuntime) -> None:
    gate = EgressGate(
        node.engine,
        site="hospital-a",
        rules=RULES,
        budgets={Purpose.STATISTICS: PrivacyBudget(1.0, 1e-5)},
    )
    charge = PrivacyCharge(0.25, 1e-7, "gaussian")
    outcomes: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work() -> None:
        try:
            start.wait()
            gate.release("agreement_statistics", agreement_payload(), "coordinator", None, charge)
            outcomes.append("released")
        except BudgetExceededError:
            outcomes.append("refused")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(8)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    assert sorted(outcomes) == ["refused"] * 4 + ["released"] * 4
    released = gate.ledger.entries(outcome=Outcome.RELEASED)
    assert [e.spent_epsilon for e in released] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert gate.ledger.verify().intact
    for statement in (
        "UPDATE egress_ledger SET epsilon = 0 WHERE seq = 1",
        "DELETE FROM egress_ledger WHERE seq = 2",
        "UPDATE egress_head SET seq = 1",
        "DELETE FROM egress_head",
    ):
        with pytest.raises(DBAPIError, match="append-only"), node.engine.begin() as connection:
            connection.execute(text(statement))
    assert gate.ledger.verify().intact
