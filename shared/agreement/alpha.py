"""Krippendorff's alpha on coincidence matrices, for any number of readers and missing ratings.

Definition (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability")
    For each unit ``u`` with ``m_u ≥ 2`` ratings and ``n_uc`` ratings of value ``c``,
    the coincidence matrix is ``o_ck = Σ_u (n_uc n_uk − [c = k] n_uc) / (m_u − 1)``.
    With ``n_c = Σ_k o_ck`` and ``n = Σ_c n_c``::

        α = 1 − (n − 1) Σ o_ck δ²_ck / Σ n_c n_k δ²_ck

    Difference functions ``δ²``: nominal ``[c ≠ k]``; ordinal
    ``(Σ_{g=c..k} n_g − (n_c + n_k)/2)²``; interval ``(c − k)²``; ratio
    ``((c − k)/(c + k))²``. Units with fewer than two ratings are not pairable and
    are ignored. α is undefined (``nan`` with a note) when the expected
    disagreement is 0 (a single value used throughout).

Sufficient statistic
    :class:`CoincidenceStats` — the value domain and ``o``. Coincidence matrices
    of disjoint sets of units add, so ``site_a + site_b`` is the matrix of the
    pooled units (exact up to floating-point rounding of the ``1/(m_u − 1)``
    weights), and α of every level pools — the ordinal ``δ²`` is recomputed from
    the pooled marginals. Sites must share the value domain.

Interval
    No analytic SE: a seeded percentile bootstrap over units (not Krippendorff's own
    resampling of pairable values). Bootstrap intervals do not pool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.agreement.bootstrap import bootstrap_interval
from shared.agreement.errors import (
    AgreementInputError,
    EmptyInputError,
    IncompatibleStatsError,
)
from shared.agreement.estimate import Estimate
from shared.agreement.summable import Summable

__all__ = ["AlphaLevel", "CoincidenceStats", "krippendorff_alpha"]

AlphaLevel = Literal["nominal", "ordinal", "interval", "ratio"]
"""Level of measurement, which chooses Krippendorff's difference function."""

_LEVELS = ("nominal", "ordinal", "interval", "ratio")
_COMPARE_VALUES = 32  # up to this many distinct values, count by comparison, not by index


def _delta_squared(
    values: NDArray[np.float64], marginals: NDArray[np.float64], level: str
) -> NDArray[np.float64]:
    """Difference function ``δ²_ck`` for a (batch of) marginal vectors ``(..., V)``."""
    if level == "nominal":
        return 1.0 - np.eye(values.size)
    if level == "interval":
        return (values[:, None] - values[None, :]) ** 2
    if level == "ratio":
        total = values[:, None] + values[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(total == 0, 0.0, (values[:, None] - values[None, :]) / total)
        return np.asarray(ratio**2, dtype=np.float64)
    if level == "ordinal":
        cum = np.cumsum(marginals, axis=-1)
        # Σ_{g=min..max} n_g − (n_c + n_k)/2, for every pair (c, k)
        lo_idx = np.minimum.outer(np.arange(values.size), np.arange(values.size))
        hi_idx = np.maximum.outer(np.arange(values.size), np.arange(values.size))
        cum_before = np.concatenate([np.zeros_like(cum[..., :1]), cum[..., :-1]], axis=-1)
        span = cum[..., hi_idx] - cum_before[..., lo_idx]
        half = (marginals[..., :, None] + marginals[..., None, :]) / 2.0
        return np.asarray((span - half) ** 2, dtype=np.float64)
    raise AgreementInputError(f"level must be one of {list(_LEVELS)}; got {level!r}.")


def _unit_value_counts(
    reliability_data: ArrayLike, value_domain: Sequence[float] | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return (values, units × values count matrix of pairable units)."""
    data = np.asarray(reliability_data, dtype=np.float64)
    if data.ndim != 2:
        raise AgreementInputError(
            f"reliability_data must be a readers × items matrix (NaN for missing); "
            f"got shape {data.shape}."
        )
    if data.size == 0:
        raise EmptyInputError(f"reliability_data has shape {data.shape}: nothing to measure.")
    if np.isinf(data).any():
        raise AgreementInputError("reliability_data must not contain infinities; use NaN.")
    present = ~np.isnan(data)
    observed = data[present]
    if value_domain is None:
        values = np.unique(observed)
    else:
        values = np.asarray(value_domain, dtype=np.float64)
        if values.ndim != 1 or values.size == 0 or np.unique(values).size != values.size:
            raise AgreementInputError("value_domain must be a non-empty list of distinct values.")
        if not np.all(np.diff(values) > 0):
            raise AgreementInputError("value_domain must be sorted ascending.")
        unknown = np.setdiff1d(observed, values)
        if unknown.size:
            raise AgreementInputError(
                f"ratings {unknown[:5].tolist()} are not in value_domain {values.tolist()}."
            )
    n_units, n_values = data.shape[1], values.size
    if n_values <= _COMPARE_VALUES:
        # A few values (categories, grades): one comparison pass per value, no index arrays.
        del observed
        counts = np.empty((n_units, n_values), dtype=np.float64)
        for j, value in enumerate(values):
            np.sum(data == value, axis=0, out=counts[:, j])
    else:
        units = np.nonzero(present)[1]
        cells = np.bincount(
            units * n_values + np.searchsorted(values, observed), minlength=n_units * n_values
        )
        counts = cells.reshape(n_units, n_values).astype(np.float64)
    pairable = counts.sum(axis=1) >= 2
    return values, (counts if pairable.all() else counts[pairable])


def _coincidences(counts: NDArray[np.float64], weights: NDArray[np.float64]) -> Any:
    """Coincidence matrices for unit weights of shape ``(B, U)`` → ``(B, V, V)``."""
    m = counts.sum(axis=1)
    scaled = weights / (m - 1.0)[None, :]
    n_values = counts.shape[1]
    idx = np.arange(n_values)
    if weights.shape[0] == 1:  # the point estimate: matrix products over blocks of units
        single = np.zeros((n_values, n_values))
        for start in range(0, counts.shape[0], 4096):
            block, scale = counts[start : start + 4096], scaled[0, start : start + 4096]
            single += (block * scale[:, None]).T @ block
        single[idx, idx] -= scaled[0] @ counts
        return single[None]
    full = np.empty((weights.shape[0], n_values, n_values))
    for start in range(0, weights.shape[0], 64):  # bounded memory for large bootstraps
        part = scaled[start : start + 64]
        block = np.einsum("bu,uc,uk->bck", part, counts, counts, optimize=True)
        block[:, idx, idx] -= part @ counts
        full[start : start + 64] = block
    return full


def _alpha_from(o: NDArray[np.float64], values: NDArray[np.float64], level: str) -> Any:
    """Vectorised α for a batch of coincidence matrices ``(B, V, V)``."""
    marg = o.sum(axis=2)
    n = marg.sum(axis=1)
    delta = _delta_squared(values, marg, level)
    if delta.ndim == 2:
        delta = np.broadcast_to(delta, o.shape)
    observed = (o * delta).sum(axis=(1, 2))
    expected = (marg[:, :, None] * marg[:, None, :] * delta).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1.0 - (n - 1.0) * observed / expected
    return np.where(expected > 1e-12 * np.maximum(n, 1.0) ** 2, alpha, np.nan)


class CoincidenceStats(Summable):
    """Summable coincidence matrix over a fixed, sorted value domain.

    Parameters
    ----------
    values
        The value domain, sorted ascending (category codes for nominal data).
    coincidences
        ``V × V`` symmetric non-negative matrix ``o``.

    Raises
    ------
    AgreementInputError
        If shapes disagree, values are unsorted, or the matrix is negative.
    """

    __slots__ = ("coincidences", "values")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, values: ArrayLike, coincidences: ArrayLike) -> None:
        vals = np.asarray(values, dtype=np.float64)
        o = np.asarray(coincidences, dtype=np.float64)
        if vals.ndim != 1 or o.shape != (vals.size, vals.size):
            raise AgreementInputError(
                f"coincidences must be {vals.size}×{vals.size} for {vals.size} values; "
                f"got {o.shape}."
            )
        if vals.size > 1 and not np.all(np.diff(vals) > 0):
            raise AgreementInputError("values must be distinct and sorted ascending.")
        if np.any(o < -1e-12) or not np.all(np.isfinite(o)):
            raise AgreementInputError("coincidences must be finite and non-negative.")
        self.values: NDArray[np.float64] = vals
        self.coincidences: NDArray[np.float64] = o

    @classmethod
    def from_reliability_data(
        cls, reliability_data: ArrayLike, value_domain: Sequence[float] | None = None
    ) -> CoincidenceStats:
        """Build the coincidence matrix of a readers × items matrix.

        Parameters
        ----------
        reliability_data
            ``readers × items`` numeric ratings, ``nan`` where a reader did not rate.
        value_domain
            All values a rating may take, sorted. Defaults to the values seen; fix it
            explicitly when statistics from several sites are to be added.

        Returns
        -------
        CoincidenceStats
            The statistics.

        Raises
        ------
        EmptyInputError
            If the matrix is empty.
        AgreementInputError
            If it is not 2-D, holds infinities, or values outside ``value_domain``.
        """
        values, counts = _unit_value_counts(reliability_data, value_domain)
        o = _coincidences(counts, np.ones((1, counts.shape[0])))[0]
        return cls(values, o)

    @property
    def n_pairable(self) -> float:
        """``n``: the number of pairable ratings."""
        return float(self.coincidences.sum())

    def __add__(self, other: object) -> CoincidenceStats:
        if not isinstance(other, CoincidenceStats):
            return NotImplemented
        if not np.array_equal(self.values, other.values):
            raise IncompatibleStatsError(
                f"cannot add coincidence matrices over different value domains: "
                f"{self.values.tolist()} vs {other.values.tolist()}. Pass the same "
                "value_domain= (the guideline's scale) at every site.",
                field="values",
            )
        return CoincidenceStats(self.values, self.coincidences + other.coincidences)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CoincidenceStats):
            return NotImplemented
        return bool(
            np.array_equal(self.values, other.values)
            and np.array_equal(self.coincidences, other.coincidences)
        )

    def __repr__(self) -> str:
        return f"CoincidenceStats(values={self.values.tolist()}, n_pairable={self.n_pairable:g})"

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """Serialize to plain numpy arrays.

        Returns
        -------
        dict
            ``values`` and ``coincidences``.
        """
        return {"values": self.values.copy(), "coincidences": self.coincidences.copy()}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]]) -> CoincidenceStats:
        """Rebuild from :meth:`to_arrays` output.

        Parameters
        ----------
        arrays
            Mapping with ``values`` and ``coincidences``.

        Returns
        -------
        CoincidenceStats
            The statistics.
        """
        return cls(arrays["values"], arrays["coincidences"])

    def alpha(self, level: AlphaLevel = "nominal") -> Estimate:
        """Krippendorff's alpha at ``level``, without an interval (it cannot pool).

        Parameters
        ----------
        level
            ``"nominal"``, ``"ordinal"``, ``"interval"`` or ``"ratio"``.

        Returns
        -------
        Estimate
            Alpha; ``ci_low``/``ci_high`` are ``nan``. ``nan`` with a note when undefined.

        Raises
        ------
        EmptyInputError
            If no unit has two ratings.
        """
        if level not in _LEVELS:
            raise AgreementInputError(f"level must be one of {list(_LEVELS)}; got {level!r}.")
        if self.n_pairable <= 0:
            raise EmptyInputError(
                "no unit has two or more ratings, so nothing can be compared; alpha needs "
                "at least one unit rated by two readers."
            )
        value = float(_alpha_from(self.coincidences[None], self.values, level)[0])
        method = "none: computed from pooled coincidences (use krippendorff_alpha for a CI)"
        if not np.isfinite(value):
            return Estimate.undefined(
                "alpha is undefined: expected disagreement is 0 (one value used throughout).",
                method=method,
            )
        return Estimate(value, float("nan"), float("nan"), method)


def krippendorff_alpha(
    reliability_data: ArrayLike,
    level: AlphaLevel = "nominal",
    *,
    value_domain: Sequence[float] | None = None,
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> Estimate:
    """Krippendorff's alpha with a seeded bootstrap interval over units.

    Parameters
    ----------
    reliability_data
        ``readers × items`` numeric ratings, ``nan`` where a reader did not rate
        (the layout of the ``krippendorff`` package).
    level
        ``"nominal"``, ``"ordinal"``, ``"interval"`` or ``"ratio"``.
    value_domain
        All values a rating may take, sorted; defaults to the values seen. It matters
        for ordinal data only through which values exist (unused values add nothing).
    confidence
        Two-sided confidence level.
    n_boot
        Bootstrap resamples of units; ``0`` for no interval.
    seed
        Bootstrap seed.

    Returns
    -------
    Estimate
        Alpha and a percentile bootstrap interval; ``nan`` with a note when undefined.

    Raises
    ------
    EmptyInputError
        If no unit has two ratings.
    AgreementInputError
        On malformed data or an unknown level.

    Examples
    --------
    >>> round(krippendorff_alpha([[1, 2, 3, 3], [1, 2, 3, 4]], n_boot=0).value, 3)
    0.696
    """
    if level not in _LEVELS:
        raise AgreementInputError(f"level must be one of {list(_LEVELS)}; got {level!r}.")
    values, counts = _unit_value_counts(reliability_data, value_domain)
    stats = CoincidenceStats(values, _coincidences(counts, np.ones((1, counts.shape[0])))[0])
    point = stats.alpha(level)
    if not np.isfinite(point.value):
        return point

    def statistic(w: NDArray[np.float64]) -> NDArray[np.float64]:
        out: NDArray[np.float64] = _alpha_from(_coincidences(counts, w), values, level)
        return out

    low, high, method = bootstrap_interval(
        statistic, counts.shape[0], n_boot=n_boot, confidence=confidence, seed=seed
    )
    return Estimate(point.value, low, high, method, confidence)
