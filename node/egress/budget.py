"""Privacy budgets: what each purpose may still spend, from what the ledger says it spent.

A site configures an ``(epsilon, delta)`` budget per purpose, ``training``
(model updates) and ``statistics`` (agreement and diversity statistics),
optionally per rolling period. Every release of those purposes states its
privacy parameters (:class:`PrivacyCharge`); the gate adds them to what the
ledger already shows as released for the purpose and refuses the release, with
:class:`~node.errors.BudgetExceededError` saying what is left, if the total would
pass the budget.

Spending composes by basic sequential composition (epsilons add, deltas add):
a valid upper bound for any mix of mechanisms. Issue 5's statistics rounds
replace it with a maintained accountant (RDP/PRV from Opacus or dp-accounting)
behind the same :class:`Accountant` interface; the ledger keeps every charge's
parameters so the tighter bound can be recomputed from it.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from node.errors import BudgetExceededError, EgressRefusedError

__all__ = [
    "Accountant",
    "BasicComposition",
    "PrivacyBudget",
    "PrivacyCharge",
    "Purpose",
    "Spent",
    "check_budget",
]

_MECHANISM = re.compile(r"^[a-z0-9][a-z0-9_.+-]{0,63}$")


class Purpose(enum.StrEnum):
    """What a privacy budget is spent on."""

    TRAINING = "training"
    STATISTICS = "statistics"


@dataclass(frozen=True)
class PrivacyCharge:
    """The privacy parameters of one release.

    Parameters
    ----------
    epsilon, delta
        The release's (epsilon, delta)-DP guarantee: ``epsilon > 0`` finite,
        ``0 <= delta < 1``.
    mechanism
        What noised it (``gaussian``, ``laplace``, ``dp-sgd``...).
    """

    epsilon: float
    delta: float
    mechanism: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.epsilon) and self.epsilon > 0):
            raise EgressRefusedError(
                "a release's epsilon must be a finite number above 0.", field="privacy.epsilon"
            )
        if not (math.isfinite(self.delta) and 0 <= self.delta < 1):
            raise EgressRefusedError("a release's delta must lie in [0, 1).", field="privacy.delta")
        if not _MECHANISM.fullmatch(self.mechanism):
            raise EgressRefusedError(
                "name the mechanism with lower-case letters, digits and '-_.+' (e.g. 'gaussian').",
                field="privacy.mechanism",
            )


@dataclass(frozen=True)
class PrivacyBudget:
    """A purpose's budget: at most ``epsilon`` and ``delta`` per ``period`` (None: ever)."""

    epsilon: float
    delta: float
    period: timedelta | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.epsilon) and self.epsilon >= 0):
            raise EgressRefusedError("a budget's epsilon must be finite and >= 0.")
        if not (math.isfinite(self.delta) and 0 <= self.delta < 1):
            raise EgressRefusedError("a budget's delta must lie in [0, 1).")
        if self.period is not None and self.period <= timedelta(0):
            raise EgressRefusedError("a budget's period must be positive.")


@dataclass(frozen=True)
class Spent:
    """What a purpose has spent (or would, with one more charge)."""

    epsilon: float
    delta: float


class Accountant(Protocol):
    """Turns a sequence of charges into the total privacy loss."""

    def compose(self, charges: Sequence[PrivacyCharge]) -> Spent:
        """The ``(epsilon, delta)`` of all ``charges`` together."""
        ...


class BasicComposition:
    """Sequential composition: epsilons add up, deltas add up."""

    def compose(self, charges: Sequence[PrivacyCharge]) -> Spent:
        """Sum the charges (``math.fsum``, so the order does not matter)."""
        return Spent(
            epsilon=math.fsum(c.epsilon for c in charges),
            delta=math.fsum(c.delta for c in charges),
        )


def check_budget(
    *,
    kind: str,
    purpose: Purpose,
    budget: PrivacyBudget | None,
    before: Spent,
    after: Spent,
    charge: PrivacyCharge,
) -> None:
    """Refuse ``charge`` if ``after`` passes ``budget``.

    Raises
    ------
    BudgetExceededError
        Saying what is spent, what is left and what was asked.
    """
    if budget is None:
        raise BudgetExceededError(
            f"no privacy budget is configured for {purpose} on this node, so no {kind} may be "
            f"released. Set the site's {purpose} budget (epsilon, delta) first.",
            kind=kind,
            purpose=str(purpose),
            remaining_epsilon=0.0,
            remaining_delta=0.0,
        )
    tolerance = 1e-12
    if after.epsilon <= budget.epsilon + tolerance and after.delta <= budget.delta + tolerance:
        return
    left_eps = max(0.0, budget.epsilon - before.epsilon)
    left_delta = max(0.0, budget.delta - before.delta)
    period = f" per {budget.period}" if budget.period else ""
    raise BudgetExceededError(
        f"refused to release {kind}: it costs epsilon={charge.epsilon:g}, "
        f"delta={charge.delta:g}, but the {purpose} budget ({budget.epsilon:g}, "
        f"{budget.delta:g}){period} has only epsilon={left_eps:g}, delta={left_delta:g} left "
        f"(spent {before.epsilon:g}, {before.delta:g}). Ask for fewer or noisier releases, "
        "or have the site's administrator raise the budget.",
        kind=kind,
        purpose=str(purpose),
        remaining_epsilon=left_eps,
        remaining_delta=left_delta,
    )
