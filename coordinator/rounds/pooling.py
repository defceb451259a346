"""Pooling the sites' statistics of a round: sums with ``+``, then one figure per label.

Each site's agreement statistics arrive as the shared agreement engine's
sufficient statistics (``to_arrays`` form); the pooled statistics are their
sum, and each label's figures are computed once from the sum — exactly what
the node's dashboard computes from its own tasks, over the union of the sites:

============= =============================================================
statistic     figures
============= =============================================================
confusion     ``kappa`` (Cohen's, unweighted) and ``percent_agreement``
coincidence   ``alpha`` (Krippendorff's, nominal)
overlap       ``pooled_dice``
detection     ``pooled_f1``
============= =============================================================

Diversity histograms are summed bin by bin. Noised statistics pool the same
way; their figures carry the noise (see ``docs/federation.md``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared.agreement import (
    CoincidenceStats,
    ConfusionStats,
    DetectionStats,
    EmptyInputError,
    OverlapStats,
)

__all__ = [
    "STATISTICS",
    "SiteStatistics",
    "label_figures",
    "pool_agreement",
    "pool_histograms",
    "pooled_json",
]

STATISTICS: Mapping[str, Any] = {
    "confusion": ConfusionStats,
    "coincidence": CoincidenceStats,
    "overlap": OverlapStats,
    "detection": DetectionStats,
}
"""The statistics a stats round pools, by wire name."""

Arrays = dict[str, np.ndarray[Any, Any]]


@dataclass(frozen=True)
class SiteStatistics:
    """What one site released in a round (already decoded from its reply)."""

    site: str
    agreement: list[tuple[str, str, Arrays]] = field(default_factory=list)
    histograms: dict[str, Arrays] = field(default_factory=dict)
    guideline: tuple[str, str] | None = None


def pool_agreement(sites: Iterable[SiteStatistics]) -> dict[str, dict[str, Any]]:
    """``{label: {statistic: pooled statistics object}}`` summed over ``sites``."""
    pooled: dict[str, dict[str, Any]] = {}
    for site in sites:
        for label, statistic, arrays in site.agreement:
            cls = STATISTICS.get(statistic)
            if cls is None:
                continue
            stats = cls.from_arrays(arrays)
            per_label = pooled.setdefault(label, {})
            per_label[statistic] = per_label[statistic] + stats if statistic in per_label else stats
    return pooled


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def label_figures(pooled: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, float | None]]:
    """``{label: {figure: value}}`` from :func:`pool_agreement`'s sums (None: undefined)."""
    figures: dict[str, dict[str, float | None]] = {}
    for label, statistics in sorted(pooled.items()):
        row: dict[str, float | None] = {}
        confusion = statistics.get("confusion")
        if isinstance(confusion, ConfusionStats) and confusion.n_items:
            row["kappa"] = _finite(confusion.kappa(None).value)
            row["percent_agreement"] = _finite(confusion.percent_agreement().value)
            row["n_pairs"] = float(confusion.n_items)
        coincidence = statistics.get("coincidence")
        if isinstance(coincidence, CoincidenceStats):
            try:
                row["alpha"] = _finite(coincidence.alpha("nominal").value)
            except EmptyInputError:
                row["alpha"] = None
        overlap = statistics.get("overlap")
        if isinstance(overlap, OverlapStats):
            row["pooled_dice"] = _finite(overlap.pooled_dice()[1])
        detection = statistics.get("detection")
        if isinstance(detection, DetectionStats):
            row["pooled_f1"] = _finite(detection.f1())
        figures[label] = row
    return figures


def pool_histograms(sites: Iterable[SiteStatistics]) -> dict[str, dict[str, list[Any]]]:
    """Bin-by-bin sums of the diversity histograms (as JSON-ready lists)."""
    pooled: dict[str, dict[str, Any]] = {}
    for site in sites:
        for name, histogram in site.histograms.items():
            counts = np.asarray(histogram["counts"])
            if name in pooled:
                pooled[name]["counts"] = pooled[name]["counts"] + counts
            else:
                layout = "categories" if "categories" in histogram else "edges"
                pooled[name] = {layout: histogram[layout], "counts": counts}
    return {
        name: {key: np.asarray(value).tolist() for key, value in histogram.items()}
        for name, histogram in sorted(pooled.items())
    }


def pooled_json(pooled: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{label: {statistic: {array: list}}}``: the pooled sums, JSON-ready."""
    return {
        label: {
            name: {key: np.asarray(value).tolist() for key, value in stats.to_arrays().items()}
            for name, stats in sorted(statistics.items())
        }
        for label, statistics in sorted(pooled.items())
    }
