"""A point estimate with its confidence interval, and the analytic intervals used to make one.

Every agreement *coefficient* in :mod:`shared.agreement` (kappas, alpha, percent
agreement, ICC, Bland–Altman limits) returns an :class:`Estimate`. Per-case
geometric measures (Dice, IoU, distances, volume difference) return a plain
``float``: they describe one case and carry no sampling interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from shared.agreement.errors import AgreementError, AgreementInputError

__all__ = ["Estimate", "normal_interval", "wilson_interval"]


@dataclass(frozen=True, slots=True)
class Estimate:
    """A coefficient, its confidence interval and how the interval was obtained.

    Attributes
    ----------
    value
        The point estimate. ``nan`` when the coefficient is undefined; ``note`` says why.
    ci_low, ci_high
        Bounds of the two-sided interval at ``confidence``; ``nan`` when none was computed.
    method
        How the interval was made, citing its source (for example
        ``"analytic: Fleiss-Cohen-Everitt 1969 large-sample SE"`` or
        ``"bootstrap: 1000 resamples of items, percentile, seed 0"``).
    confidence
        The two-sided confidence level of the interval.
    se
        The standard error behind an analytic interval, ``nan`` for bootstrap ones.
    note
        Why ``value`` is ``nan``, or any caveat; empty otherwise. An estimate whose
        value is ``nan`` always has a note: constructing one without raises.

    Raises
    ------
    AgreementError
        If ``value`` is ``nan`` and ``note`` is empty (a NaN must say why).
    """

    value: float
    ci_low: float
    ci_high: float
    method: str
    confidence: float = 0.95
    se: float = math.nan
    note: str = ""

    def __post_init__(self) -> None:
        if math.isnan(self.value) and not self.note:
            raise AgreementError(
                "an Estimate whose value is nan must say why in note=; use "
                "Estimate.undefined(reason, method=...)."
            )

    def __float__(self) -> float:
        return self.value

    @property
    def defined(self) -> bool:
        """Whether ``value`` is a number (``False`` when undefined; ``note`` says why)."""
        return not math.isnan(self.value)

    @classmethod
    def undefined(cls, reason: str, *, method: str, confidence: float = 0.95) -> Estimate:
        """Build an estimate whose value is ``nan`` because the coefficient is undefined.

        Parameters
        ----------
        reason
            Why the coefficient is undefined; stored in :attr:`note`.
        method
            The interval method that would have been used.
        confidence
            The confidence level that was asked for.

        Returns
        -------
        Estimate
            ``value``, ``ci_low`` and ``ci_high`` all ``nan``.
        """
        return cls(math.nan, math.nan, math.nan, method, confidence, math.nan, reason)


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` if it lies strictly between 0 and 1, else raise.

    Parameters
    ----------
    confidence
        Two-sided confidence level.

    Returns
    -------
    float
        The same level.

    Raises
    ------
    AgreementInputError
        If the level is not in (0, 1).
    """
    if not (0.0 < confidence < 1.0):
        raise AgreementInputError(
            f"confidence must lie strictly between 0 and 1 (e.g. 0.95); got {confidence!r}."
        )
    return float(confidence)


def _normal_quantile(p: float) -> float:
    """Standard normal quantile (Wichura's AS 241, via :class:`statistics.NormalDist`).

    Accurate to about 1e-16 and some hundred times cheaper per call than
    ``scipy.stats.norm.ppf``, which matters when an interval is made per statistic.
    """
    return NormalDist().inv_cdf(p)


def normal_interval(value: float, se: float, confidence: float) -> tuple[float, float]:
    """Wald interval ``value ± z·se`` with ``z`` the normal quantile for ``confidence``.

    Parameters
    ----------
    value
        Point estimate.
    se
        Its standard error.
    confidence
        Two-sided confidence level.

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` when ``value`` or ``se`` is not finite.
    """
    if not (math.isfinite(value) and math.isfinite(se)):
        return math.nan, math.nan
    z = _normal_quantile(0.5 + check_confidence(confidence) / 2.0)
    return value - z * se, value + z * se


def wilson_interval(successes: float, n: float, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927).

    Parameters
    ----------
    successes
        Number of successes (may be a weighted, non-integer count).
    n
        Number of trials.
    confidence
        Two-sided confidence level.

    Returns
    -------
    tuple of float
        ``(low, high)`` inside [0, 1]; ``(nan, nan)`` when ``n`` is 0.
    """
    if n <= 0:
        return math.nan, math.nan
    z = _normal_quantile(0.5 + check_confidence(confidence) / 2.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
