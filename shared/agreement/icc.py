"""Intraclass correlation from a two-way ANOVA table (Shrout & Fleiss 1979; McGraw & Wong 1996).

Forms (``n`` items/targets rated by the same ``k`` readers; MS from the two-way table)
    =====  ========================  ===========================================================
    form   McGraw & Wong name         formula
    =====  ========================  ===========================================================
    1,1    ICC(1), one-way random     (MSR − MSW) / (MSR + (k−1) MSW)
    2,1    ICC(A,1), absolute agr.    (MSR − MSE) / (MSR + (k−1) MSE + k (MSC − MSE) / n)
    3,1    ICC(C,1), consistency      (MSR − MSE) / (MSR + (k−1) MSE)
    1,k    ICC(k)                     (MSR − MSW) / MSR
    2,k    ICC(A,k)                   (MSR − MSE) / (MSR + (MSC − MSE) / n)
    3,k    ICC(C,k)                   (MSR − MSE) / MSR
    =====  ========================  ===========================================================

    ICC(2,·) treats readers as a random sample (two-way random effects, absolute
    agreement); ICC(3,·) treats these readers as the only ones of interest (two-way
    mixed effects, consistency).

Confidence intervals
    Exact F-distribution intervals of Shrout & Fleiss (1979) for forms 1 and 3; for
    form 2, the approximate interval with Satterthwaite degrees of freedom (McGraw &
    Wong 1996, Table 7), and for the average-measure forms the single-measure
    bounds stepped up by Spearman–Brown where that is how the source defines them.
    The intervals depend on the mean squares only, so they pool with the sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from shared.agreement.errors import AgreementInputError
from shared.agreement.estimate import Estimate, check_confidence

__all__ = ["AnovaTable", "IccForm", "icc_from_anova"]

IccForm = Literal["1,1", "2,1", "3,1", "1,k", "2,k", "3,k"]
"""Shrout & Fleiss form: model (1 one-way, 2 two-way random, 3 two-way mixed), unit."""

FORMS: tuple[str, ...] = ("1,1", "2,1", "3,1", "1,k", "2,k", "3,k")
_METHOD = "analytic: F-distribution interval (Shrout & Fleiss 1979; McGraw & Wong 1996)"


@dataclass(frozen=True, slots=True)
class AnovaTable:
    """Mean squares of the items × readers two-way ANOVA without replication.

    Attributes
    ----------
    n, k
        Items (rows) and readers (columns).
    ms_rows, ms_cols, ms_error, ms_within
        Between-items, between-readers, residual and one-way within-item mean squares.
    """

    n: int
    k: int
    ms_rows: float
    ms_cols: float
    ms_error: float
    ms_within: float


def icc_from_anova(table: AnovaTable, form: IccForm, confidence: float) -> Estimate:
    """ICC of the given form, with its F-based interval, from an ANOVA table.

    Parameters
    ----------
    table
        The mean squares.
    form
        One of ``"1,1"``, ``"2,1"``, ``"3,1"``, ``"1,k"``, ``"2,k"``, ``"3,k"``.
    confidence
        Two-sided confidence level.

    Returns
    -------
    Estimate
        ICC and interval; ``nan`` with a note when the mean squares make it undefined
        (e.g. every rating identical).

    Raises
    ------
    AgreementInputError
        On an unknown form.
    """
    if form not in FORMS:
        raise AgreementInputError(f"form must be one of {list(FORMS)}; got {form!r}.")
    check_confidence(confidence)
    n, k = table.n, table.k
    msr, msc, mse, msw = table.ms_rows, table.ms_cols, table.ms_error, table.ms_within
    try:
        value = _point(form, n, k, msr, msc, mse, msw)
    except ZeroDivisionError:
        return _undefined(confidence)
    try:
        low, high = _interval(form, n, k, msr, msc, mse, msw, value, confidence)
    except (ZeroDivisionError, OverflowError):
        low, high = math.nan, math.nan
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = math.nan, math.nan
    note = "" if math.isfinite(low) else "no interval: a mean square is 0 (perfect agreement)"
    return Estimate(value, low, high, _METHOD, confidence, math.nan, note)


def _point(form: str, n: int, k: int, msr: float, msc: float, mse: float, msw: float) -> float:
    if form == "1,1":
        return (msr - msw) / (msr + (k - 1) * msw)
    if form == "1,k":
        return (msr - msw) / msr
    if form == "3,1":
        return (msr - mse) / (msr + (k - 1) * mse)
    if form == "3,k":
        return (msr - mse) / msr
    if form == "2,1":
        return (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    return (msr - mse) / (msr + (msc - mse) / n)


def _interval(
    form: str,
    n: int,
    k: int,
    msr: float,
    msc: float,
    mse: float,
    msw: float,
    value: float,
    confidence: float,
) -> tuple[float, float]:
    from scipy import stats  # on first use: see continuous.py

    q = 1.0 - (1.0 - confidence) / 2.0

    def fppf(dfn: float, dfd: float) -> float:
        return float(stats.f.ppf(q, dfn, dfd))

    model = form[0]
    if model == "2":
        single = value if form == "2,1" else _point("2,1", n, k, msr, msc, mse, msw)
        fj = msc / mse
        a = k * single
        b = n * (1 + (k - 1) * single) - k * single
        v = (k - 1) * (n - 1) * (a * fj + b) ** 2 / ((n - 1) * a**2 * fj**2 + b**2)
        f_l, f_u = fppf(n - 1, v), fppf(v, n - 1)
        c = k * msc + (k * n - k - n) * mse
        low = n * (msr - f_l * mse) / (f_l * c + n * msr)
        high = n * (f_u * msr - mse) / (c + n * f_u * msr)
        if form == "2,k":
            low, high = k * low / (1 + (k - 1) * low), k * high / (1 + (k - 1) * high)
        return low, high
    if model == "1":
        f_obs = msr / msw
        df2 = n * (k - 1)
    else:
        f_obs = msr / mse
        df2 = (n - 1) * (k - 1)
    f_l = f_obs / fppf(n - 1, df2)
    f_u = f_obs * fppf(df2, n - 1)
    if form.endswith(",1"):
        return (f_l - 1) / (f_l + k - 1), (f_u - 1) / (f_u + k - 1)
    return 1 - 1 / f_l, 1 - 1 / f_u


def _undefined(confidence: float) -> Estimate:
    return Estimate.undefined(
        "ICC is undefined: a mean square in its denominator is 0 (for example every "
        "rating is identical, or readers agree perfectly so the residual is 0).",
        method=_METHOD,
        confidence=confidence,
    )
