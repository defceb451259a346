"""DP-SGD accounting for training rounds, and the budget check that runs before one.

Privacy of a round
    A round of DP-SGD on a node is ``steps`` steps of the subsampled Gaussian
    mechanism: each step Poisson-samples privacy units (cases or samples, see
    :class:`~shared.schemas.PrivacyUnit`) with probability ``sample_rate``,
    clips each unit's gradient to ``max_grad_norm`` and adds Gaussian noise of
    standard deviation ``noise_multiplier · max_grad_norm``. Its
    ``(epsilon, delta)`` follows from ``(noise_multiplier, sample_rate, steps)``
    alone, with Opacus's RDP analysis (``opacus.accountants.analysis.rdp``,
    the same functions ``RDPAccountant`` uses; loaded without torch by
    :mod:`node.stats.opacus_rdp`), so it is known **before** training.

The charge and its hand-off
    :func:`dp_sgd_charge` states a round as a
    :class:`~node.egress.PrivacyCharge` whose mechanism
    ``dpsgd-z<z>-q<q>-s<steps>`` carries its parameters, so
    :class:`TrainingAccountant` can recompose every training release a site
    made from its ledger (RDP curves add; converted once). Before training,
    :func:`check_training_budget` adds the charge to what the ledger shows and
    refuses the round (:class:`~node.errors.TrainingBudgetExceededError`,
    written to the ledger as ``refused``) if the site's ``training`` budget
    would be passed. The charge itself is recorded when the update leaves
    through :meth:`node.egress.EgressGate.release` with ``privacy=charge``.

The site's training budget lives in ``DATA_DIR/training-policy.json``
(:class:`TrainingPolicy`). No torch here: torch-free processes may import
this module directly (``node.learn.privacy``).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

import numpy as np

from node.egress import EgressGate, Outcome, PrivacyBudget, PrivacyCharge, Purpose, Spent
from node.egress.budget import check_budget
from node.errors import BudgetExceededError, EgressRefusedError, TrainingBudgetExceededError
from node.stats.opacus_rdp import DEFAULT_ALPHAS, opacus_rdp
from shared.errors import ConfigurationError

__all__ = [
    "TRAINING_POLICY_FILE",
    "DpStatement",
    "TrainingAccountant",
    "TrainingPolicy",
    "check_training_budget",
    "dp_sgd_charge",
    "dp_sgd_epsilon",
    "exact_rate",
]

TRAINING_POLICY_FILE = "training-policy.json"
_ORDERS: list[float] = list(DEFAULT_ALPHAS)
_NUMBER = r"[0-9.]+(?:e[+-]?[0-9]+)?"
_DPSGD = re.compile(rf"^dpsgd-z(?P<z>{_NUMBER})-q(?P<q>{_NUMBER})-s(?P<s>[0-9]+)$")
_GAUSSIAN = re.compile(rf"^gaussian-z(?P<z>{_NUMBER})-k(?P<k>[0-9]+)$")


def exact_rate(rate: float) -> float:
    """``rate`` rounded up to 8 significant digits: the value a mechanism name can carry.

    Rounding up keeps the accounting conservative: the name never understates
    the rate the sampler used (the sampler uses this very value).
    """
    if not (math.isfinite(rate) and 0 < rate <= 1):
        raise ValueError(f"a sample rate lies in (0, 1], got {rate}")
    exact = Decimal(rate)
    step = Decimal(1).scaleb(exact.adjusted() - 7)
    return float(exact.quantize(step, rounding=ROUND_CEILING))


def dp_sgd_epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> float:
    """The epsilon at ``delta`` of ``steps`` subsampled Gaussian steps (Opacus RDP)."""
    curve = opacus_rdp.compute_rdp(
        q=sample_rate, noise_multiplier=noise_multiplier, steps=steps, orders=_ORDERS
    )
    epsilon, _order = opacus_rdp.get_privacy_spent(orders=_ORDERS, rdp=curve, delta=delta)
    return float(epsilon)


def dp_sgd_charge(
    noise_multiplier: float, sample_rate: float, steps: int, delta: float
) -> PrivacyCharge:
    """The charge of one DP-SGD round (mechanism ``dpsgd-z<z>-q<q>-s<steps>``).

    ``sample_rate`` should come from :func:`exact_rate` so the name states it exactly.
    """
    return PrivacyCharge(
        epsilon=dp_sgd_epsilon(noise_multiplier, sample_rate, steps, delta),
        delta=delta,
        mechanism=f"dpsgd-z{noise_multiplier:.8g}-q{sample_rate:.8g}-s{steps}",
    )


@dataclass(frozen=True)
class DpStatement:
    """What a DP-SGD round did, for the update's metadata and the ledger."""

    noise_multiplier: float
    sample_rate: float
    steps: int
    max_grad_norm: float
    unit: str
    secure_rng: bool
    epsilon: float
    delta: float

    @property
    def charge(self) -> PrivacyCharge:
        """The :class:`~node.egress.PrivacyCharge` to release the update with."""
        return PrivacyCharge(
            epsilon=self.epsilon,
            delta=self.delta,
            mechanism=(f"dpsgd-z{self.noise_multiplier:.8g}-q{self.sample_rate:.8g}-s{self.steps}"),
        )


class TrainingAccountant:
    """RDP composition of DP-SGD and Gaussian charges (Opacus's analysis), basic for the rest.

    Implements :class:`node.egress.Accountant`. Never above basic composition
    of the same charges.
    """

    def compose(self, charges: Sequence[PrivacyCharge]) -> Spent:
        """The ``(epsilon, delta)`` of all ``charges`` together."""
        basic = Spent(
            epsilon=math.fsum(c.epsilon for c in charges),
            delta=math.fsum(c.delta for c in charges),
        )
        curve = np.zeros(len(_ORDERS))
        rdp_delta = other_eps = other_delta = 0.0
        found = False
        for charge in charges:
            rdp = _curve(charge)
            if rdp is None or charge.delta <= 0:
                other_eps += charge.epsilon
                other_delta += charge.delta
                continue
            curve += rdp
            rdp_delta += charge.delta
            found = True
        if not found:
            return basic
        epsilon, _order = opacus_rdp.get_privacy_spent(
            orders=_ORDERS, rdp=curve, delta=min(rdp_delta, 0.5)
        )
        composed = Spent(float(epsilon) + other_eps, rdp_delta + other_delta)
        return composed if composed.epsilon <= basic.epsilon else basic


def _curve(charge: PrivacyCharge) -> np.ndarray | None:
    curve = _named_curve(charge.mechanism)
    return None if curve is None else np.asarray(curve)


@functools.lru_cache(maxsize=1024)
def _named_curve(mechanism: str) -> tuple[float, ...] | None:
    """The RDP curve a mechanism name states (cached: a ledger repeats a few names)."""
    match = _DPSGD.fullmatch(mechanism)
    if match is not None:
        q, z, steps = float(match["q"]), float(match["z"]), int(match["s"])
    else:
        match = _GAUSSIAN.fullmatch(mechanism)
        if match is None:
            return None
        q, z, steps = 1.0, float(match["z"]), int(match["k"])
    curve = opacus_rdp.compute_rdp(q=q, noise_multiplier=z, steps=steps, orders=_ORDERS)
    return tuple(float(v) for v in np.atleast_1d(curve))


@dataclass(frozen=True)
class TrainingPolicy:
    """A site's training budget (``DATA_DIR/training-policy.json``)."""

    epsilon: float
    delta: float
    period_days: float | None = None

    @classmethod
    def load(cls, data_dir: Path) -> TrainingPolicy | None:
        """The policy, or None when the site has not set one.

        Raises
        ------
        ConfigurationError
            When the file exists but is not a valid policy.
        """
        path = data_dir / TRAINING_POLICY_FILE
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            policy = cls(
                epsilon=float(data["epsilon"]),
                delta=float(data["delta"]),
                period_days=float(data["period_days"]) if data.get("period_days") else None,
            )
            policy.budget()
        except (OSError, ValueError, KeyError, TypeError, EgressRefusedError) as exc:
            raise ConfigurationError(
                f"{path} is not a valid training policy ({exc}); write "
                '{"epsilon": 8, "delta": 1e-5} (and optionally "period_days")',
                setting="training_policy",
            ) from None
        return policy

    def budget(self) -> PrivacyBudget:
        """The ``training`` budget."""
        period = timedelta(days=self.period_days) if self.period_days else None
        return PrivacyBudget(self.epsilon, self.delta, period)


def check_training_budget(
    gate: EgressGate,
    charge: PrivacyCharge,
    *,
    round_id: str | None = None,
    destination: str = "superlink",
    now: datetime | None = None,
) -> Spent:
    """Refuse a round whose ``charge`` would pass the site's training budget.

    Composes the ledger's training charges with ``charge`` using the gate's
    accountant, exactly as :meth:`~node.egress.EgressGate.release` will. Nothing
    is charged here.

    Returns
    -------
    Spent
        What the training budget would have spent after this round.

    Raises
    ------
    TrainingBudgetExceededError
        The round would pass the budget (or no training budget is set); the
        refusal is written to the ledger (kind ``model_update``, outcome
        ``refused``).
    """
    budget = gate.budgets.get(Purpose.TRAINING)
    since = None
    if budget is not None and budget.period is not None:
        moment = (now or datetime.now(UTC)).astimezone(UTC) - budget.period
        since = moment.isoformat(timespec="microseconds")
    with gate.engine.connect() as connection:
        charges = gate.ledger.charges(
            connection, site=gate.site, purpose=Purpose.TRAINING, since=since
        )
    before = gate.accountant.compose(charges)
    after = gate.accountant.compose([*charges, charge])
    try:
        check_budget(
            kind="model_update",
            purpose=Purpose.TRAINING,
            budget=budget,
            before=before,
            after=after,
            charge=charge,
        )
    except BudgetExceededError as exc:
        round_text = f"training round {round_id}" if round_id else "the training round"
        refusal = TrainingBudgetExceededError(
            f"refused {round_text} before training: {exc}",
            kind="model_update",
            purpose=exc.purpose,
            remaining_epsilon=exc.remaining_epsilon,
            remaining_delta=exc.remaining_delta,
            epsilon=charge.epsilon,
            delta=charge.delta,
        )
        gate.ledger.record(
            site=gate.site,
            outcome=Outcome.REFUSED,
            kind="model_update",
            destination=destination,
            byte_count=0,
            sha256="",
            round_id=round_id,
            reason="TrainingBudgetExceededError (checked before training; nothing trained)",
        )
        raise refusal from None
    return after
