"""Agreement on continuous measurements (lengths, volumes): ICC and Bland–Altman limits.

Sufficient statistic
    :class:`ContinuousStats` for ``n`` items each measured by the same ``k`` readers
    (reader slot ``j`` is column ``j`` at every site): ``n``, the column sums
    ``s = Xᵀ1`` and the cross-product matrix ``G = XᵀX``. Every quantity below is a
    function of them — the two-way ANOVA (``Σx² = tr G``, ``Σ_i R_i² = 1ᵀG1``,
    ``C_j = s_j``) and, for any two readers ``i, j``, the differences
    ``Σd = s_i − s_j``, ``Σd² = G_ii + G_jj − 2G_ij``. Sums add, so pooled ICC and
    Bland–Altman equal those of the union up to floating-point rounding. Raw sums of
    squares lose precision when the mean is huge relative to the spread (about
    ``mean²/variance · 1e-16`` relative error): express measurements in units near 1
    (mm, mL), not in µm.

Bland–Altman (Bland & Altman 1986, 1999)
    Bias ``d̄`` and limits of agreement ``d̄ ± z·s_d`` with ``z`` the normal quantile
    of ``coverage`` (1.96 for 95 %). Intervals: bias ``d̄ ± t·s_d/√n``; each limit
    ``± t·s_d·√(1/n + z²/(2(n−1)))`` (Bland & Altman 1999, §4.2), ``t`` on ``n−1`` df.
    Differences are reader B minus reader A.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.agreement.errors import (
    AgreementInputError,
    EmptyInputError,
    IncompatibleStatsError,
    ShapeMismatchError,
)
from shared.agreement.estimate import Estimate, check_confidence
from shared.agreement.icc import AnovaTable, IccForm, icc_from_anova
from shared.agreement.summable import Summable

__all__ = ["BlandAltman", "ContinuousStats", "bland_altman", "icc"]

_BA = "analytic: t interval (Bland & Altman 1999)"


@dataclass(frozen=True, slots=True)
class BlandAltman:
    """Bland–Altman agreement of two readers.

    Attributes
    ----------
    bias
        Mean difference (B − A) with its t interval.
    lower, upper
        Limits of agreement with their intervals.
    sd
        Standard deviation of the differences.
    n
        Number of paired measurements.
    coverage
        Share of differences the limits are meant to cover (0.95 → ±1.96 SD).
    """

    bias: Estimate
    lower: Estimate
    upper: Estimate
    sd: float
    n: int
    coverage: float


def _as_ratings(ratings: ArrayLike) -> NDArray[np.float64]:
    data = np.asarray(ratings, dtype=np.float64)
    if data.ndim != 2:
        raise AgreementInputError(
            f"ratings must be an items × readers matrix; got shape {data.shape}."
        )
    if data.shape[0] == 0:
        raise EmptyInputError("ratings has no items; ICC and Bland–Altman need at least two.")
    if not np.all(np.isfinite(data)):
        raise AgreementInputError(
            "ratings must be complete and finite: ICC and Bland–Altman need every reader "
            "to measure every item. Drop incomplete items first."
        )
    return data


class ContinuousStats(Summable):
    """Summable sums of an items × readers matrix of measurements.

    Parameters
    ----------
    n
        Items.
    sums
        ``(k,)`` column sums.
    cross
        ``(k, k)`` symmetric matrix ``XᵀX``.

    Raises
    ------
    AgreementInputError
        On inconsistent shapes.
    """

    __slots__ = ("cross", "n", "sums")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, n: int, sums: ArrayLike, cross: ArrayLike) -> None:
        s = np.asarray(sums, dtype=np.float64)
        g = np.asarray(cross, dtype=np.float64)
        if s.ndim != 1 or g.shape != (s.size, s.size) or int(n) < 0:
            raise AgreementInputError(
                f"sums must be (k,) and cross (k, k); got {s.shape} and {g.shape}."
            )
        self.n, self.sums, self.cross = int(n), s, g

    @classmethod
    def from_ratings(cls, ratings: ArrayLike) -> ContinuousStats:
        """Summarise an items × readers matrix of measurements.

        Parameters
        ----------
        ratings
            ``n × k`` finite measurements, one column per reader.

        Returns
        -------
        ContinuousStats
            The sums.

        Raises
        ------
        EmptyInputError
            If there are no items.
        AgreementInputError
            If the matrix is not 2-D or holds NaN/inf.
        """
        data = _as_ratings(ratings)
        return cls(data.shape[0], data.sum(axis=0), data.T @ data)

    @property
    def k(self) -> int:
        """Readers (columns)."""
        return int(self.sums.size)

    def __add__(self, other: object) -> ContinuousStats:
        if not isinstance(other, ContinuousStats):
            return NotImplemented
        if self.k != other.k:
            raise IncompatibleStatsError(
                f"cannot add sums over {self.k} and {other.k} readers; reader slots must match.",
                field="sums",
            )
        return ContinuousStats(self.n + other.n, self.sums + other.sums, self.cross + other.cross)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContinuousStats):
            return NotImplemented
        return bool(
            self.n == other.n
            and np.array_equal(self.sums, other.sums)
            and np.array_equal(self.cross, other.cross)
        )

    def __repr__(self) -> str:
        return f"ContinuousStats(n={self.n}, k={self.k})"

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """Serialize to plain numpy arrays.

        Returns
        -------
        dict
            ``n``, ``sums``, ``cross``.
        """
        return {
            "n": np.asarray(self.n, dtype=np.int64),
            "sums": self.sums.copy(),
            "cross": self.cross.copy(),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]]) -> ContinuousStats:
        """Rebuild from :meth:`to_arrays` output.

        Parameters
        ----------
        arrays
            Mapping with ``n``, ``sums``, ``cross``.

        Returns
        -------
        ContinuousStats
            The sums.
        """
        return cls(int(arrays["n"]), arrays["sums"], arrays["cross"])

    def anova(self) -> AnovaTable:
        """Two-way ANOVA mean squares (items × readers, one rating per cell).

        Returns
        -------
        AnovaTable
            Mean squares.

        Raises
        ------
        AgreementInputError
            With fewer than 2 items or 2 readers.
        """
        n, k = self.n, self.k
        if n < 2 or k < 2:
            raise AgreementInputError(
                f"ICC needs at least 2 items and 2 readers; got {n} items, {k} readers."
            )
        total = float(self.sums.sum())
        cf = total * total / (n * k)
        ss_total = max(float(np.trace(self.cross)) - cf, 0.0)
        ss_rows = max(float(self.cross.sum()) / k - cf, 0.0)
        ss_cols = max(float((self.sums**2).sum()) / n - cf, 0.0)
        ss_error = max(ss_total - ss_rows - ss_cols, 0.0)
        ss_within = max(ss_total - ss_rows, 0.0)
        return AnovaTable(
            n=n,
            k=k,
            ms_rows=ss_rows / (n - 1),
            ms_cols=ss_cols / (k - 1),
            ms_error=ss_error / ((n - 1) * (k - 1)),
            ms_within=ss_within / (n * (k - 1)),
        )

    def icc(self, form: IccForm = "2,1", *, confidence: float = 0.95) -> Estimate:
        """Intraclass correlation of the given Shrout & Fleiss form.

        Parameters
        ----------
        form
            ``"1,1"``, ``"2,1"`` (default), ``"3,1"``, ``"1,k"``, ``"2,k"`` or ``"3,k"``.
        confidence
            Two-sided confidence level.

        Returns
        -------
        Estimate
            ICC with its F-based interval (see :mod:`shared.agreement.icc`).
        """
        return icc_from_anova(self.anova(), form, confidence)

    def bland_altman(
        self,
        reader_a: int = 0,
        reader_b: int = 1,
        *,
        coverage: float = 0.95,
        confidence: float = 0.95,
    ) -> BlandAltman:
        """Bland–Altman bias and limits of agreement between two reader columns.

        Parameters
        ----------
        reader_a, reader_b
            Column indices; differences are ``b − a``.
        coverage
            Share of differences the limits should cover (0.95 → ±1.96 SD).
        confidence
            Two-sided confidence level of the intervals.

        Returns
        -------
        BlandAltman
            Bias, limits and their intervals.

        Raises
        ------
        AgreementInputError
            With fewer than 2 items or a reader index out of range.
        """
        check_confidence(confidence)
        check_confidence(coverage)
        if not (0 <= reader_a < self.k and 0 <= reader_b < self.k and reader_a != reader_b):
            raise AgreementInputError(
                f"reader_a and reader_b must be distinct columns in 0..{self.k - 1}."
            )
        n = self.n
        if n < 2:
            raise AgreementInputError(f"Bland–Altman needs at least 2 paired items; got {n}.")
        g = self.cross
        sum_d = float(self.sums[reader_b] - self.sums[reader_a])
        sum_d2 = float(g[reader_a, reader_a] + g[reader_b, reader_b] - 2 * g[reader_a, reader_b])
        bias = sum_d / n
        sd = math.sqrt(max(sum_d2 - n * bias * bias, 0.0) / (n - 1))
        # Imported here: scipy.stats takes ~2 s to import, and the Flower ClientApp
        # (a fresh process per message) imports this package but never needs it.
        from scipy import stats

        z = float(stats.norm.ppf(0.5 + coverage / 2.0))
        t = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
        se_bias = sd / math.sqrt(n)
        se_limit = sd * math.sqrt(1.0 / n + z * z / (2.0 * (n - 1)))

        def est(value: float, se: float) -> Estimate:
            return Estimate(value, value - t * se, value + t * se, _BA, confidence, se)

        return BlandAltman(
            bias=est(bias, se_bias),
            lower=est(bias - z * sd, se_limit),
            upper=est(bias + z * sd, se_limit),
            sd=sd,
            n=n,
            coverage=coverage,
        )


def icc(ratings: ArrayLike, form: IccForm = "2,1", *, confidence: float = 0.95) -> Estimate:
    """Intraclass correlation of an items × readers matrix of measurements.

    Parameters
    ----------
    ratings
        ``n × k`` complete measurements (one column per reader).
    form
        Shrout & Fleiss form: ``"2,1"`` (two-way random, absolute agreement, single
        reader — the default), ``"3,1"`` (two-way mixed, consistency), ``"1,1"``, or the
        average-measure forms ``"1,k"``, ``"2,k"``, ``"3,k"``.
    confidence
        Two-sided confidence level.

    Returns
    -------
    Estimate
        ICC and its F-based interval; ``nan`` with a note when undefined.

    Raises
    ------
    EmptyInputError
        If there are no items.
    AgreementInputError
        If there are fewer than 2 items or readers, missing values, or an unknown form.
    """
    return ContinuousStats.from_ratings(ratings).icc(form, confidence=confidence)


def bland_altman(
    a: ArrayLike, b: ArrayLike, *, coverage: float = 0.95, confidence: float = 0.95
) -> BlandAltman:
    """Bland–Altman bias and limits of agreement of two readers' measurements.

    Parameters
    ----------
    a, b
        Paired measurements of the same items (differences are ``b − a``).
    coverage
        Share of differences the limits should cover (0.95 → ±1.96 SD).
    confidence
        Two-sided confidence level of the intervals.

    Returns
    -------
    BlandAltman
        Bias, limits of agreement and their intervals.

    Raises
    ------
    ShapeMismatchError
        If ``a`` and ``b`` differ in length or are not 1-D.
    AgreementInputError
        On NaN or fewer than two pairs.
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ShapeMismatchError(
            f"a and b must be 1-D and of equal length; got {x.shape} and {y.shape}.",
            expected=x.shape,
            actual=y.shape,
        )
    stats = ContinuousStats.from_ratings(np.stack([x, y], axis=1))
    return stats.bland_altman(0, 1, coverage=coverage, confidence=confidence)
