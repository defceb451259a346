"""Many-reader agreement on categories: per-item category counts and Fleiss' kappa.

Sufficient statistic
    :class:`CategoryCountStats` — for items each rated by the same number ``m`` of
    readers: the number of items ``N``, the category totals ``T_j = Σ_i n_ij`` and
    the sum of squared counts ``S = Σ_i Σ_j n_ij²``. All are integers, so
    ``site_a + site_b`` equals the statistics of the pooled items exactly (sites
    must use the same categories and the same ``m``).

Fleiss' kappa (Fleiss 1971)
    ``P̄ = (S − N m) / (N m (m − 1))``, ``p_j = T_j / (N m)``, ``P̄_e = Σ p_j²``,
    ``κ = (P̄ − P̄_e) / (1 − P̄_e)``. Undefined (``nan`` with a note) when
    ``P̄_e = 1`` (every rating in one category).

Standard error — stated plainly
    The analytic interval uses the standard error **under the null hypothesis
    κ = 0** of Fleiss, Nee & Landis (1979)::

        SE₀ = √2 / (Σ p_j q_j √(N m (m − 1))) · √((Σ p_j q_j)² − Σ p_j q_j (q_j − p_j))

    with ``q_j = 1 − p_j``. It is exact for testing κ = 0 but only approximate as a
    confidence interval when κ is far from 0 (it ignores the variance that
    agreement itself adds). It depends only on the pooled sums, so it pools
    exactly. Pass ``ci="bootstrap"`` to :func:`fleiss_kappa` for a seeded
    bootstrap over items instead (that needs item-level counts; not poolable).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.agreement.bootstrap import bootstrap_interval
from shared.agreement.errors import (
    AgreementInputError,
    EmptyInputError,
    IncompatibleStatsError,
)
from shared.agreement.estimate import Estimate, normal_interval
from shared.agreement.summable import Summable

__all__ = ["CategoryCountStats", "fleiss_kappa"]

_FNL = "analytic: Fleiss-Nee-Landis 1979 SE under H0 (kappa=0), Wald interval; approximate"


def _check_counts(counts: ArrayLike) -> tuple[NDArray[np.int64], int]:
    matrix = np.asarray(counts)
    if matrix.ndim != 2:
        raise AgreementInputError(
            f"counts must be an items × categories matrix; got shape {matrix.shape}."
        )
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise EmptyInputError(
            f"counts has shape {matrix.shape}: give at least one item and one category."
        )
    if matrix.dtype.kind == "f" and (
        np.isnan(matrix).any() or not np.array_equal(matrix, np.round(matrix))
    ):
        raise AgreementInputError("counts must hold whole numbers of ratings (no NaN).")
    if matrix.min() < 0:
        raise AgreementInputError("counts must not be negative.")
    matrix = matrix.astype(np.int64, copy=False)
    per_item = np.einsum("ij->i", matrix)  # several times faster than sum(axis=1) on thin rows
    m = int(per_item[0])
    if np.any(per_item != m):
        bad = int(np.flatnonzero(per_item != m)[0])
        raise AgreementInputError(
            f"Fleiss' kappa needs the same number of ratings for every item; item 0 has {m}, "
            f"item {bad} has {int(per_item[bad])}. Use krippendorff_alpha for unequal "
            "numbers of readers or missing ratings."
        )
    if m < 2:
        raise AgreementInputError(f"each item needs at least 2 ratings for Fleiss' kappa; got {m}.")
    return matrix, m


class CategoryCountStats(Summable):
    """Summable sufficient statistics of Fleiss' kappa.

    Parameters
    ----------
    categories
        Category names, in column order.
    raters_per_item
        ``m``, the number of ratings every item received (≥ 2).
    n_items
        ``N``, the number of items.
    category_totals
        ``T_j``, ratings per category over all items.
    sum_squares
        ``S = Σ_i Σ_j n_ij²``.

    Raises
    ------
    AgreementInputError
        If the parts are inconsistent (totals that do not add up to ``N m``...).
    """

    __slots__ = ("categories", "category_totals", "n_items", "raters_per_item", "sum_squares")
    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self,
        categories: Sequence[Hashable],
        raters_per_item: int,
        n_items: int,
        category_totals: ArrayLike,
        sum_squares: int,
    ) -> None:
        cats = tuple(np.asarray(categories).tolist())
        totals = np.asarray(category_totals).astype(np.int64)
        if len(cats) == 0 or len(set(cats)) != len(cats):
            raise AgreementInputError(f"categories must be non-empty and distinct; got {cats}.")
        if totals.shape != (len(cats),):
            raise AgreementInputError(
                f"category_totals must have one entry per category ({len(cats)}); "
                f"got shape {totals.shape}."
            )
        if int(raters_per_item) < 2 or int(n_items) < 0 or np.any(totals < 0):
            raise AgreementInputError(
                "raters_per_item must be ≥ 2 and n_items and totals non-negative."
            )
        if int(totals.sum()) != int(n_items) * int(raters_per_item):
            raise AgreementInputError("category_totals must add up to n_items × raters_per_item.")
        self.categories: tuple[Hashable, ...] = cats
        self.raters_per_item = int(raters_per_item)
        self.n_items = int(n_items)
        self.category_totals: NDArray[np.int64] = totals
        self.sum_squares = int(sum_squares)

    @classmethod
    def from_counts(
        cls, counts: ArrayLike, categories: Sequence[Hashable] | None = None
    ) -> CategoryCountStats:
        """Summarise an items × categories count matrix.

        Parameters
        ----------
        counts
            ``counts[i, j]``: readers who put item ``i`` in category ``j``; every row
            must add up to the same ``m ≥ 2``.
        categories
            Column names; default ``0 … k−1``.

        Returns
        -------
        CategoryCountStats
            The sufficient statistics.

        Raises
        ------
        EmptyInputError
            If there are no items or categories.
        AgreementInputError
            If counts are negative, fractional, NaN, or rows sum to different totals.
        """
        matrix, m = _check_counts(counts)
        cats: Sequence[Hashable] = (
            tuple(range(matrix.shape[1])) if categories is None else categories
        )
        flat = matrix.ravel()
        totals = np.einsum("ij->j", matrix)
        return cls(cats, m, matrix.shape[0], totals, int(np.dot(flat, flat)))

    def __add__(self, other: object) -> CategoryCountStats:
        if not isinstance(other, CategoryCountStats):
            return NotImplemented
        if self.categories != other.categories:
            raise IncompatibleStatsError(
                f"cannot add category counts over different categories: "
                f"{list(self.categories)} vs {list(other.categories)}.",
                field="categories",
            )
        if self.raters_per_item != other.raters_per_item:
            raise IncompatibleStatsError(
                f"cannot pool Fleiss statistics with {self.raters_per_item} and "
                f"{other.raters_per_item} readers per item; Fleiss' kappa needs one m. "
                "Pool CoincidenceStats (Krippendorff's alpha) instead.",
                field="raters_per_item",
            )
        return CategoryCountStats(
            self.categories,
            self.raters_per_item,
            self.n_items + other.n_items,
            self.category_totals + other.category_totals,
            self.sum_squares + other.sum_squares,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CategoryCountStats):
            return NotImplemented
        return self.to_tuple() == other.to_tuple()

    def to_tuple(self) -> tuple[Any, ...]:
        """Return every field as plain Python values (for comparison and logging).

        Returns
        -------
        tuple
            ``(categories, m, N, totals, S)``.
        """
        return (
            self.categories,
            self.raters_per_item,
            self.n_items,
            tuple(self.category_totals.tolist()),
            self.sum_squares,
        )

    def __repr__(self) -> str:
        return (
            f"CategoryCountStats(categories={list(self.categories)}, "
            f"raters_per_item={self.raters_per_item}, n_items={self.n_items})"
        )

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """Serialize to plain numpy arrays.

        Returns
        -------
        dict
            ``categories``, ``raters_per_item``, ``n_items``, ``category_totals``,
            ``sum_squares``.
        """
        return {
            "categories": np.asarray(self.categories),
            "raters_per_item": np.asarray(self.raters_per_item, dtype=np.int64),
            "n_items": np.asarray(self.n_items, dtype=np.int64),
            "category_totals": self.category_totals.copy(),
            "sum_squares": np.asarray(self.sum_squares, dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]]) -> CategoryCountStats:
        """Rebuild from :meth:`to_arrays` output.

        Parameters
        ----------
        arrays
            The mapping :meth:`to_arrays` produced.

        Returns
        -------
        CategoryCountStats
            The statistics.
        """
        return cls(
            tuple(np.asarray(arrays["categories"]).tolist()),
            int(arrays["raters_per_item"]),
            int(arrays["n_items"]),
            arrays["category_totals"],
            int(arrays["sum_squares"]),
        )

    def _check_nonempty(self) -> None:
        if self.n_items == 0:
            raise EmptyInputError("no items were counted; Fleiss' kappa needs items.")

    def kappa(self, *, confidence: float = 0.95) -> Estimate:
        """Fleiss' kappa with the Fleiss-Nee-Landis (1979) null-SE interval.

        Parameters
        ----------
        confidence
            Two-sided confidence level.

        Returns
        -------
        Estimate
            Kappa; ``nan`` with a note when undefined. See the module docstring for
            what the interval does and does not promise.
        """
        self._check_nonempty()
        n, m = self.n_items, self.raters_per_item
        p = self.category_totals / (n * m)
        p_bar = (self.sum_squares - n * m) / (n * m * (m - 1))
        p_e = float((p**2).sum())
        if abs(1.0 - p_e) <= 1e-12:
            return Estimate.undefined(
                "Fleiss' kappa is undefined: every rating is in one category, so chance "
                "agreement is 1; percent agreement is 1.",
                method=_FNL,
                confidence=confidence,
            )
        kappa = (p_bar - p_e) / (1.0 - p_e)
        pq = p * (1.0 - p)
        spq = float(pq.sum())
        inner = spq**2 - float((pq * ((1.0 - p) - p)).sum())
        se = float(np.sqrt(2.0 * max(inner, 0.0)) / (spq * np.sqrt(n * m * (m - 1))))
        low, high = normal_interval(kappa, se, confidence)
        return Estimate(kappa, low, high, _FNL, confidence, se)

    def percent_agreement(self) -> float:
        """Mean over items of the fraction of agreeing reader pairs (Fleiss' ``P̄``).

        Returns
        -------
        float
            ``P̄`` in [0, 1].
        """
        self._check_nonempty()
        n, m = self.n_items, self.raters_per_item
        return (self.sum_squares - n * m) / (n * m * (m - 1))


def _weighted_fleiss(matrix: NDArray[np.int64], m: int) -> Any:
    sq = (matrix.astype(np.float64) ** 2).sum(axis=1)

    def statistic(w: NDArray[np.float64]) -> NDArray[np.float64]:
        n = w.sum(axis=1)
        p = (w @ matrix) / (n * m)[:, None]
        p_bar = (w @ sq - n * m) / (n * m * (m - 1))
        p_e = (p**2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out: NDArray[np.float64] = (p_bar - p_e) / (1.0 - p_e)
        out[np.isclose(p_e, 1.0)] = np.nan
        return out

    return statistic


def fleiss_kappa(
    counts: ArrayLike,
    *,
    categories: Sequence[Hashable] | None = None,
    confidence: float = 0.95,
    ci: Literal["analytic", "bootstrap"] = "analytic",
    n_boot: int = 1000,
    seed: int = 0,
) -> Estimate:
    """Fleiss' kappa (Fleiss 1971) from an items × categories count matrix.

    Parameters
    ----------
    counts
        ``counts[i, j]``: number of readers who put item ``i`` in category ``j``.
        Every row must add up to the same number of readers ``m ≥ 2``.
    categories
        Column names (only used to label the statistics).
    confidence
        Two-sided confidence level.
    ci
        ``"analytic"``: Fleiss-Nee-Landis (1979) SE under κ = 0 (see module docstring);
        ``"bootstrap"``: seeded percentile bootstrap over items.
    n_boot, seed
        Bootstrap resamples and seed (``ci="bootstrap"`` only).

    Returns
    -------
    Estimate
        Kappa and interval; ``nan`` with a note when undefined.

    Raises
    ------
    EmptyInputError
        If there are no items.
    AgreementInputError
        If the counts are malformed or ``ci`` is unknown.
    """
    stats = CategoryCountStats.from_counts(counts, categories)
    result = stats.kappa(confidence=confidence)
    if ci == "analytic" or not np.isfinite(result.value):
        if ci not in ("analytic", "bootstrap"):
            raise AgreementInputError(f"ci must be 'analytic' or 'bootstrap'; got {ci!r}.")
        return result
    if ci != "bootstrap":
        raise AgreementInputError(f"ci must be 'analytic' or 'bootstrap'; got {ci!r}.")
    matrix, m = _check_counts(counts)
    low, high, method = bootstrap_interval(
        _weighted_fleiss(matrix, m),
        matrix.shape[0],
        n_boot=n_boot,
        confidence=confidence,
        seed=seed,
    )
    return Estimate(result.value, low, high, method, confidence)
