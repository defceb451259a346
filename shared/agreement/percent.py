"""Percent agreement: the share of reader pairs that chose the same category.

Definition
    For each item ``u`` rated by ``m_u ≥ 2`` readers, with ``n_uc`` of them choosing
    category ``c``, the item's agreement is the fraction of agreeing reader pairs
    ``a_u = Σ_c n_uc (n_uc − 1) / (m_u (m_u − 1))``; percent agreement is the mean of
    ``a_u`` over such items (Fleiss 1971's ``P̄``, extended to unequal ``m_u``). For
    two readers it is the fraction of items on which they agree.

Interval
    Two readers: each ``a_u`` is 0 or 1, so the Wilson score interval applies
    (analytic). More readers: seeded percentile bootstrap over items.

Pooling
    :meth:`ConfusionStats.percent_agreement` (two readers) and
    :meth:`CategoryCountStats.percent_agreement` (``m`` readers) give the same
    figure from summable statistics.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.agreement.bootstrap import bootstrap_interval
from shared.agreement.errors import AgreementInputError, EmptyInputError
from shared.agreement.estimate import Estimate, wilson_interval

__all__ = ["percent_agreement"]


def percent_agreement(
    ratings: ArrayLike,
    *,
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> Estimate:
    """Mean fraction of agreeing reader pairs per item.

    Parameters
    ----------
    ratings
        ``readers × items`` category codes, ``nan`` where a reader did not rate.
        For two readers pass ``[labels_a, labels_b]``.
    confidence
        Two-sided confidence level.
    n_boot, seed
        Bootstrap resamples and seed, used when more than two readers rated.

    Returns
    -------
    Estimate
        Percent agreement in [0, 1] and its interval.

    Raises
    ------
    EmptyInputError
        If no item has two ratings.
    AgreementInputError
        If ``ratings`` is not a 2-D numeric matrix.

    Examples
    --------
    >>> percent_agreement([[1, 2, 3, 3], [1, 2, 3, 4]]).value
    0.75
    """
    try:
        data = np.asarray(ratings, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AgreementInputError(
            "ratings must be numeric category codes (readers × items, nan for missing); "
            "map string labels to codes first, or use ConfusionStats.from_labels."
        ) from exc
    if data.ndim != 2:
        raise AgreementInputError(
            f"ratings must be a readers × items matrix; got shape {data.shape}."
        )
    present = ~np.isnan(data)
    m = present.sum(axis=0)
    keep = m >= 2
    if not keep.any():
        raise EmptyInputError(
            "no item was rated by two or more readers; percent agreement needs pairs."
        )
    data, present, m = data[:, keep], present[:, keep], m[keep]
    agreeing = np.zeros(data.shape[1], dtype=np.float64)
    for value in np.unique(data[present]):
        n_c = (data == value).sum(axis=0).astype(np.float64)
        agreeing += n_c * (n_c - 1.0)
    per_item: NDArray[np.float64] = agreeing / (m * (m - 1.0))
    value = float(per_item.mean())
    n_items = per_item.size
    if data.shape[0] == 2:
        low, high = wilson_interval(float(per_item.sum()), n_items, confidence)
        return Estimate(value, low, high, "analytic: Wilson score interval", confidence)

    def statistic(w: NDArray[np.float64]) -> NDArray[np.float64]:
        out: NDArray[np.float64] = (w @ per_item) / w.sum(axis=1)
        return out

    low, high, method = bootstrap_interval(
        statistic, n_items, n_boot=n_boot, confidence=confidence, seed=seed
    )
    return Estimate(value, low, high, method, confidence)
