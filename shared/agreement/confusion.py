"""Two-reader agreement on categories: the confusion matrix and Cohen's kappa.

Sufficient statistic
    :class:`ConfusionStats` — the ``k × k`` matrix of item counts, rows reader A's
    category, columns reader B's, over a fixed category list. Counts are integers,
    so ``site_a + site_b`` is *exactly* the matrix of the pooled items, and every
    figure below (kappa, its SE and CI, percent agreement) pools exactly.

Cohen's kappa (Cohen 1960; weighted: Cohen 1968)
    ``κ = (p_o − p_e) / (1 − p_e)`` with agreement weights ``w_ij``:
    ``p_o = Σ w_ij p_ij``, ``p_e = Σ w_ij p_i· p_·j``. Unweighted: ``w = I``;
    linear: ``w_ij = 1 − |i − j| / (k − 1)``; quadratic:
    ``w_ij = 1 − (i − j)² / (k − 1)²`` — indices follow the order of ``categories``
    (sorted labels when not given), as in scikit-learn's ``cohen_kappa_score``.

Standard error
    Fleiss, Cohen & Everitt (1969) large-sample (non-null) variance::

        var κ = [Σ p_ij (w_ij − (w̄_i· + w̄_·j)(1 − κ))² − (κ − p_e(1 − κ))²]
                / (n (1 − p_e)²)

    with ``w̄_i· = Σ_j p_·j w_ij`` and ``w̄_·j = Σ_i p_i· w_ij``; the interval is the
    Wald interval ``κ ± z·SE``.

Undefined kappa
    When ``p_e = 1`` (both readers used one and the same category for every item)
    kappa is 0/0: the result is ``nan`` and :attr:`Estimate.note` says why. Percent
    agreement is still defined and is then 1.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.agreement.errors import (
    AgreementInputError,
    EmptyInputError,
    IncompatibleStatsError,
)
from shared.agreement.estimate import Estimate, normal_interval, wilson_interval
from shared.agreement.summable import Summable
from shared.agreement.validation import as_label_vector, check_same_shape, resolve_categories

__all__ = ["ConfusionStats", "KappaWeights", "cohen_kappa"]

KappaWeights = Literal["linear", "quadratic"] | None
"""``None`` (unweighted), ``"linear"`` or ``"quadratic"`` agreement weights."""

_FCE = "analytic: Fleiss-Cohen-Everitt 1969 large-sample SE, Wald interval"


def agreement_weights(k: int, weights: KappaWeights) -> NDArray[np.float64]:
    """Agreement weight matrix (1 on the diagonal) for ``k`` ordered categories.

    Parameters
    ----------
    k
        Number of categories.
    weights
        ``None``, ``"linear"`` or ``"quadratic"``.

    Returns
    -------
    numpy.ndarray
        ``k × k`` weights in [0, 1].

    Raises
    ------
    AgreementInputError
        If ``weights`` is not one of the three choices.
    """
    if weights is None or k == 1:
        if weights not in (None, "linear", "quadratic"):
            raise AgreementInputError(
                f"weights must be None, 'linear' or 'quadratic'; got {weights!r}."
            )
        return np.eye(k)
    idx = np.arange(k, dtype=np.float64)
    dist = np.abs(idx[:, None] - idx[None, :]) / (k - 1)
    if weights == "linear":
        return 1.0 - dist
    if weights == "quadratic":
        return 1.0 - dist**2
    raise AgreementInputError(f"weights must be None, 'linear' or 'quadratic'; got {weights!r}.")


def _category_codes(labels: NDArray[Any], categories: tuple[Hashable, ...]) -> NDArray[np.int64]:
    """Position of each label in ``categories`` (every label is known to be one of them).

    Sorted lookup (:func:`numpy.searchsorted`) for numbers and strings; a dictionary
    for anything else, or where the sorted lookup does not find every label exactly.
    """
    table = np.asarray(categories)
    if table.dtype.kind in "biuUS" and labels.dtype.kind in "biufUS":
        try:
            order = np.argsort(table, kind="stable")
            found = order[np.minimum(np.searchsorted(table[order], labels), table.size - 1)]
            if np.array_equal(table[found], labels):
                return found.astype(np.int64, copy=False)
        except TypeError:  # labels and categories of types that do not compare
            pass
    index = {c: i for i, c in enumerate(categories)}
    return np.fromiter((index[v] for v in labels.tolist()), dtype=np.int64, count=labels.size)


class ConfusionStats(Summable):
    """Summable confusion matrix of two readers over a fixed category list.

    Parameters
    ----------
    categories
        The categories, in their meaningful order (the order weighted kappa uses).
    counts
        ``k × k`` non-negative integer counts: ``counts[i, j]`` items that reader A put
        in ``categories[i]`` and reader B in ``categories[j]``.

    Raises
    ------
    AgreementInputError
        If the matrix is not square, not ``k × k``, or has negative or fractional counts.
    """

    __slots__ = ("categories", "counts")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, categories: Sequence[Hashable], counts: ArrayLike) -> None:
        cats = tuple(np.asarray(categories).tolist())
        matrix = np.asarray(counts)
        k = len(cats)
        if k == 0 or len(set(cats)) != k:
            raise AgreementInputError(
                f"categories must be non-empty and distinct; got {list(cats)}."
            )
        if matrix.shape != (k, k):
            raise AgreementInputError(
                f"counts must be a {k}×{k} matrix for {k} categories; got shape {matrix.shape}."
            )
        if matrix.dtype.kind == "f" and not np.array_equal(matrix, np.round(matrix)):
            raise AgreementInputError("counts must be whole numbers of items.")
        if np.any(matrix < 0):
            raise AgreementInputError("counts must not be negative.")
        self.categories: tuple[Hashable, ...] = cats
        self.counts: NDArray[np.int64] = matrix.astype(np.int64)

    @classmethod
    def from_labels(
        cls,
        labels_a: ArrayLike | Sequence[Hashable],
        labels_b: ArrayLike | Sequence[Hashable],
        categories: Sequence[Hashable] | None = None,
    ) -> ConfusionStats:
        """Count the items of two readers' labels.

        Parameters
        ----------
        labels_a, labels_b
            One label per item from each reader, aligned by item.
        categories
            The category list; defaults to the sorted union of the labels. Fix it
            explicitly when statistics from several sites are to be added.

        Returns
        -------
        ConfusionStats
            The confusion matrix.

        Raises
        ------
        EmptyInputError
            If there are no items.
        ShapeMismatchError
            If the readers labelled different numbers of items.
        AgreementInputError
            If a label is missing (``nan``/``None``) or not among ``categories``.
        """
        a = as_label_vector(labels_a, "labels_a")
        b = as_label_vector(labels_b, "labels_b")
        check_same_shape(a, b, ("labels_a", "labels_b"))
        cats = resolve_categories(categories, a, b)
        ia, ib = _category_codes(a, cats), _category_codes(b, cats)
        k = len(cats)
        counts = np.bincount(ia * k + ib, minlength=k * k).reshape(k, k)
        return cls(cats, counts)

    @property
    def n_items(self) -> int:
        """Number of items counted."""
        return int(self.counts.sum())

    def __add__(self, other: object) -> ConfusionStats:
        if not isinstance(other, ConfusionStats):
            return NotImplemented
        if self.categories != other.categories:
            raise IncompatibleStatsError(
                f"cannot add confusion matrices over different categories: "
                f"{list(self.categories)} vs {list(other.categories)}. Build both with the "
                "same categories= list (the guideline's label list).",
                field="categories",
            )
        return ConfusionStats(self.categories, self.counts + other.counts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfusionStats):
            return NotImplemented
        return self.categories == other.categories and np.array_equal(self.counts, other.counts)

    def __repr__(self) -> str:
        return f"ConfusionStats(categories={list(self.categories)}, n_items={self.n_items})"

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """Serialize to plain numpy arrays (for Flower messages).

        Returns
        -------
        dict
            ``categories`` and ``counts``.
        """
        return {"categories": np.asarray(self.categories), "counts": self.counts.copy()}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]]) -> ConfusionStats:
        """Rebuild from :meth:`to_arrays` output.

        Parameters
        ----------
        arrays
            Mapping with ``categories`` and ``counts``.

        Returns
        -------
        ConfusionStats
            The statistics.
        """
        return cls(tuple(np.asarray(arrays["categories"]).tolist()), arrays["counts"])

    def kappa(self, weights: KappaWeights = None, *, confidence: float = 0.95) -> Estimate:
        """Cohen's kappa with its Fleiss-Cohen-Everitt (1969) Wald interval.

        Parameters
        ----------
        weights
            ``None``, ``"linear"`` or ``"quadratic"`` (see the module docstring).
        confidence
            Two-sided confidence level.

        Returns
        -------
        Estimate
            ``nan`` with a note when kappa is undefined (``p_e = 1``).

        Raises
        ------
        EmptyInputError
            If no items were counted.
        """
        n = self.n_items
        if n == 0:
            raise EmptyInputError("no items were counted; kappa needs at least one item.")
        w = agreement_weights(len(self.categories), weights)
        p = self.counts / n
        rows, cols = p.sum(axis=1), p.sum(axis=0)
        p_o = float((w * p).sum())
        p_e = float((w * np.outer(rows, cols)).sum())
        if abs(1.0 - p_e) <= 1e-12:
            return Estimate.undefined(
                "kappa is undefined: expected agreement is 1 (both readers used a single, "
                "identical category for every item); see percent_agreement instead.",
                method=_FCE,
                confidence=confidence,
            )
        kappa = (p_o - p_e) / (1.0 - p_e)
        w_row = w @ cols  # w̄_i· = Σ_j p_·j w_ij
        w_col = rows @ w  # w̄_·j = Σ_i p_i· w_ij
        term = (p * (w - (w_row[:, None] + w_col[None, :]) * (1.0 - kappa)) ** 2).sum()
        var = (term - (kappa - p_e * (1.0 - kappa)) ** 2) / (n * (1.0 - p_e) ** 2)
        se = float(np.sqrt(max(var, 0.0)))
        low, high = normal_interval(kappa, se, confidence)
        return Estimate(kappa, low, high, _FCE, confidence, se)

    def percent_agreement(self, *, confidence: float = 0.95) -> Estimate:
        """Fraction of items both readers put in the same category, with a Wilson interval.

        Parameters
        ----------
        confidence
            Two-sided confidence level.

        Returns
        -------
        Estimate
            Observed agreement ``Σ_i counts[i, i] / n``; Wilson score interval.

        Raises
        ------
        EmptyInputError
            If no items were counted.
        """
        n = self.n_items
        if n == 0:
            raise EmptyInputError("no items were counted; percent agreement needs items.")
        agree = float(np.trace(self.counts))
        low, high = wilson_interval(agree, n, confidence)
        return Estimate(agree / n, low, high, "analytic: Wilson score interval", confidence)


def cohen_kappa(
    a: ArrayLike | Sequence[Hashable],
    b: ArrayLike | Sequence[Hashable],
    weights: KappaWeights = None,
    *,
    categories: Sequence[Hashable] | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Cohen's kappa between two readers' labels, with its analytic interval.

    Parameters
    ----------
    a, b
        One category label per item from each reader, aligned by item.
    weights
        ``None`` (unweighted), ``"linear"`` or ``"quadratic"`` (Cohen 1968).
    categories
        Category order for the weights; defaults to the sorted union of labels.
    confidence
        Two-sided confidence level.

    Returns
    -------
    Estimate
        Kappa, Fleiss-Cohen-Everitt (1969) SE and Wald interval. ``nan`` with a note
        when kappa is undefined.

    Examples
    --------
    >>> round(cohen_kappa([0, 1, 1, 0], [0, 1, 0, 0]).value, 3)
    0.5
    """
    return ConfusionStats.from_labels(a, b, categories).kappa(weights, confidence=confidence)
