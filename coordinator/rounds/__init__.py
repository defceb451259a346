"""Statistics rounds, Flower-free: pooling the sites' sums and storing the results.

:func:`pool_agreement` adds the sites' agreement sufficient statistics with
``+`` and :func:`label_figures` computes each label's pooled figures from the
sum; :func:`pool_histograms` adds the diversity histograms; :class:`RoundStore`
keeps each round's result and :class:`RoundHistory` reads them back (with
each site's reported privacy charges, :func:`site_charges`). The Flower side
is :mod:`coordinator.serverapp`.
"""

from coordinator.rounds.history import RoundHistory, SiteCharges, round_summary, site_charges
from coordinator.rounds.pooling import (
    STATISTICS,
    SiteStatistics,
    label_figures,
    pool_agreement,
    pool_histograms,
    pooled_json,
)
from coordinator.rounds.store import RoundStore, harmonization_result
from coordinator.rounds.totals import SECURE_TOTAL, secure_totals

__all__ = [
    "SECURE_TOTAL",
    "STATISTICS",
    "RoundHistory",
    "RoundStore",
    "SiteCharges",
    "SiteStatistics",
    "harmonization_result",
    "label_figures",
    "pool_agreement",
    "pool_histograms",
    "pooled_json",
    "round_summary",
    "secure_totals",
    "site_charges",
]
