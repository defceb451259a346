"""Seeded nonparametric bootstrap over items, for coefficients without an analytic SE.

Items (cases, units) are resampled with replacement. Because every coefficient in
this package is a function of sums over items, a resample is represented by the
multinomial *count* of each item in it, and the statistic is recomputed from
item-weighted sums — no data are copied — in blocks of resamples, so memory stays
bounded however many resamples are asked for. The interval is the percentile interval
(Efron & Tibshirani 1993, ch. 13). Resamples on which the statistic is undefined
(``nan``) are dropped and counted in the method string.

Bootstrap intervals cannot be pooled across sites: they are recomputed from the
item-level data of the site (or of the union) that holds them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from shared.agreement.errors import AgreementInputError
from shared.agreement.estimate import check_confidence

__all__ = ["bootstrap_interval"]

_BLOCK_CELLS = 1 << 20
"""Resamples are drawn and evaluated in blocks of at most this many (resample, item) weights;
the draws are the same as one ``size=n_boot`` call, so a seed gives the same interval."""

WeightedStatistic = Callable[[NDArray[np.float64]], NDArray[np.float64]]
"""Maps a (resamples × items) matrix of item weights to one value per resample."""


def bootstrap_interval(
    statistic: WeightedStatistic,
    n_items: int,
    *,
    n_boot: int,
    confidence: float,
    seed: int,
) -> tuple[float, float, str]:
    """Percentile bootstrap interval of ``statistic`` over ``n_items`` items.

    Parameters
    ----------
    statistic
        Vectorised statistic: given weights of shape ``(n_boot, n_items)`` (how often
        each item was drawn), returns ``n_boot`` values.
    n_items
        Number of items to resample.
    n_boot
        Number of resamples; ``0`` skips the bootstrap and returns ``nan`` bounds.
    confidence
        Two-sided confidence level.
    seed
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same interval.

    Returns
    -------
    tuple
        ``(low, high, method)`` where ``method`` describes the interval.

    Raises
    ------
    AgreementInputError
        If ``n_boot`` is negative.
    """
    check_confidence(confidence)
    if n_boot < 0:
        raise AgreementInputError(f"n_boot must be 0 (no interval) or positive; got {n_boot}.")
    if n_boot == 0 or n_items == 0:
        return math.nan, math.nan, "none: bootstrap disabled (n_boot=0)"
    rng = np.random.default_rng(seed)
    uniform = np.full(n_items, 1.0 / n_items)
    block = max(1, min(n_boot, _BLOCK_CELLS // n_items))  # bounded memory: ~8 MB of weights
    parts = []
    for start in range(0, n_boot, block):
        weights = rng.multinomial(n_items, uniform, size=min(block, n_boot - start))
        parts.append(np.asarray(statistic(weights.astype(np.float64)), dtype=np.float64))
    values = np.concatenate(parts)
    finite = values[np.isfinite(values)]
    method = f"bootstrap: {n_boot} resamples of items, percentile interval, seed {seed}"
    dropped = n_boot - finite.size
    if dropped:
        method += f"; {dropped} resamples with an undefined value dropped"
    if finite.size == 0:
        return math.nan, math.nan, method
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(low), float(high), method
