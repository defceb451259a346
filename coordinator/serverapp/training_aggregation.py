"""Aggregating the sites' model updates: FedAvg, or a robust rule (Flower's own functions).

:func:`aggregate_updates` takes each site's new weights (the global weights plus
its released update) with its example count and returns the next global
weights, using the aggregation functions of ``flwr.server.strategy.aggregate``:

=================  =====================================================================
``fedavg``         example-weighted mean (``aggregate``); the default
``fedmedian``      coordinate-wise median (``aggregate_median``)
``trimmed-mean``   coordinate-wise mean after cutting the ``trim_fraction`` largest and
                   smallest values (``aggregate_trimmed_avg``; with 3 or more sites at
                   least one is cut on each side)
``krum``           the update closest to its ``n - f - 2`` nearest others
                   (``aggregate_krum``, ``f`` = ``krum_malicious``)
=================  =====================================================================

The robust rules need every site's individual update, so they cannot run on
securely aggregated sums: :func:`check_aggregation` refuses that combination
(it and :class:`Aggregation` live, Flower-free, in :mod:`coordinator.training.request`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from flwr.server.strategy.aggregate import (
    aggregate,
    aggregate_krum,
    aggregate_median,
    aggregate_trimmed_avg,
)

from coordinator.training.request import Aggregation, check_aggregation
from shared.errors import ConfigurationError

__all__ = ["Aggregation", "AggregationSettings", "aggregate_updates", "check_aggregation"]

Arrays = list[np.ndarray[Any, Any]]


@dataclass(frozen=True)
class AggregationSettings:
    """The rule and its parameters."""

    rule: Aggregation = Aggregation.FEDAVG
    trim_fraction: float = 0.2
    krum_malicious: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.trim_fraction < 0.5:
            raise ConfigurationError(
                f"--trim-fraction {self.trim_fraction}: give a fraction in [0, 0.5)",
                setting="trim_fraction",
            )
        if self.krum_malicious < 0:
            raise ConfigurationError("--krum-malicious must be 0 or more", setting="krum_malicious")


def aggregate_updates(
    results: Sequence[tuple[Arrays, int]], settings: AggregationSettings
) -> Arrays:
    """The next global weights from ``(weights, examples)`` per answering site.

    Raises
    ------
    ConfigurationError
        No results, or arrays that do not line up.
    """
    if not results:
        raise ConfigurationError("no site update to aggregate", setting="min_sites")
    shapes = [tuple(a.shape for a in weights) for weights, _ in results]
    if any(shape != shapes[0] for shape in shapes):
        raise ConfigurationError(
            "the sites' updates have different shapes: were they trained on another plan?",
            setting="plan",
        )
    prepared = [([np.asarray(a, dtype=np.float64) for a in w], max(int(n), 1)) for w, n in results]
    rule = settings.rule
    if rule is Aggregation.FEDAVG or len(prepared) == 1:
        merged = aggregate(prepared)
    elif rule is Aggregation.FEDMEDIAN:
        merged = aggregate_median(prepared)
    elif rule is Aggregation.TRIMMED_MEAN:
        count = len(prepared)
        fraction = settings.trim_fraction
        if count >= 3:
            fraction = min(max(fraction, (1 + 1e-9) / count), 0.5 - 1e-9)
        merged = aggregate_trimmed_avg(prepared, fraction)
    else:
        merged = aggregate_krum(prepared, settings.krum_malicious, 0)
    return [np.asarray(m, dtype=np.float32) for m in merged]
