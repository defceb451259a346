"""What each purpose's privacy budget has spent and has left, as the ledger tells it.

Every released entry charged to a purpose records the purpose's cumulative
spending after it (``spent_epsilon``, ``spent_delta``), composed by the
accountant the gate used. :func:`purpose_spending` reads the newest such entry
and sets it against the purpose's budget: what was spent as of that release,
and what is left. For a budget with a rolling period, charges older than the
period stop counting at the next release, so the figure is an upper bound
until then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, select

from node.egress.budget import PrivacyBudget, Purpose
from node.egress.ledger import EgressLedger, Outcome, ledger_table

__all__ = ["PurposeSpending", "purpose_spending"]


@dataclass(frozen=True)
class PurposeSpending:
    """One purpose's budget, spending and what is left (None: no budget set)."""

    purpose: Purpose
    budget: PrivacyBudget | None
    spent_epsilon: float
    spent_delta: float
    as_of: str | None
    releases: int

    @property
    def left_epsilon(self) -> float | None:
        """Epsilon left (None without a budget)."""
        return None if self.budget is None else max(0.0, self.budget.epsilon - self.spent_epsilon)

    @property
    def left_delta(self) -> float | None:
        """Delta left (None without a budget)."""
        return None if self.budget is None else max(0.0, self.budget.delta - self.spent_delta)

    def to_json(self) -> dict[str, Any]:
        """JSON form (the API's)."""
        budget = self.budget
        return {
            "purpose": str(self.purpose),
            "budget": None
            if budget is None
            else {
                "epsilon": budget.epsilon,
                "delta": budget.delta,
                "period_days": budget.period.total_seconds() / 86400 if budget.period else None,
            },
            "spent": {"epsilon": self.spent_epsilon, "delta": self.spent_delta},
            "left": None
            if budget is None
            else {"epsilon": self.left_epsilon, "delta": self.left_delta},
            "as_of": self.as_of,
            "charged_releases": self.releases,
        }


def purpose_spending(
    ledger: EgressLedger, budgets: Mapping[Purpose, PrivacyBudget | None]
) -> list[PurposeSpending]:
    """Each purpose's spending (every :class:`Purpose`, in order) against ``budgets``."""
    table: Table = ledger_table()
    out = []
    with ledger.engine.connect() as connection:
        for purpose in Purpose:
            charged = (
                table.c.purpose == str(purpose),
                table.c.outcome == Outcome.RELEASED.value,
                table.c.spent_epsilon.is_not(None),
            )
            newest = connection.execute(
                select(table).where(*charged).order_by(table.c.seq.desc()).limit(1)
            ).one_or_none()
            count = connection.execute(select(func.count()).where(*charged)).scalar_one()
            out.append(
                PurposeSpending(
                    purpose=purpose,
                    budget=budgets.get(purpose),
                    spent_epsilon=float(newest.spent_epsilon) if newest else 0.0,
                    spent_delta=float(newest.spent_delta) if newest else 0.0,
                    as_of=str(newest.recorded_at) if newest else None,
                    releases=int(count),
                )
            )
    return out
