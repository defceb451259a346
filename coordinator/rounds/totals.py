"""Secure totals → statistics: post-processing of the decoded sums of a secure round.

A secure sum adds every site's (noised, unclipped-by-construction where the
schema allows) contribution; the coordinator then makes the totals valid
statistics, which is post-processing and costs no privacy: counts rounded and
clipped at 0, coincidences clipped and symmetrised, ``n_matched`` capped at
``min(n_a, n_b)``, and a statistic whose item count is below 1 (a label no
site had data for, up to noise) left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from coordinator.rounds.pooling import SiteStatistics

__all__ = ["SECURE_TOTAL", "secure_totals"]

SECURE_TOTAL = "secure-sum"
"""The pseudo-site name of a secure round's totals."""

Arrays = dict[str, np.ndarray[Any, Any]]

_COUNTS: Mapping[str, tuple[str, ...]] = {
    "confusion": ("counts",),
    "overlap": ("n_cases", "intersection", "size_a", "size_b", "both_empty", "dice_histogram"),
    "detection": ("n_cases", "n_a", "n_b", "n_matched"),
}
_FLOATS: Mapping[str, tuple[str, ...]] = {
    "overlap": ("case_dice_sum",),
    "detection": ("score_sum", "case_f1_sum"),
}


def _clean(statistic: str, arrays: Arrays) -> Arrays | None:
    out = dict(arrays)
    for name in _COUNTS.get(statistic, ()):
        out[name] = np.maximum(np.rint(np.asarray(out[name], dtype=np.float64)), 0).astype(np.int64)
    for name in _FLOATS.get(statistic, ()):
        out[name] = np.maximum(np.asarray(out[name], dtype=np.float64), 0.0)
    if statistic == "coincidence":
        matrix = np.maximum(np.asarray(out["coincidences"], dtype=np.float64), 0.0)
        out["coincidences"] = (matrix + matrix.T) / 2.0
        size = float(out["coincidences"].sum())
    elif statistic == "confusion":
        size = float(out["counts"].sum())
    else:
        size = float(out["n_cases"])
    if statistic == "detection":
        out["n_matched"] = np.minimum(out["n_matched"], np.minimum(out["n_a"], out["n_b"]))
    return out if size >= 1 else None


def secure_totals(
    guideline: tuple[str, str],
    agreement: list[tuple[str, str, Arrays]],
    histograms: Mapping[str, Arrays],
) -> SiteStatistics:
    """The decoded secure sums as one :class:`SiteStatistics` of valid statistics."""
    kept = []
    for label, statistic, arrays in agreement:
        cleaned = _clean(statistic, arrays)
        if cleaned is not None:
            kept.append((label, statistic, cleaned))
    counts = {
        name: {
            **histogram,
            "counts": np.maximum(np.rint(np.asarray(histogram["counts"], dtype=float)), 0).astype(
                np.int64
            ),
        }
        for name, histogram in histograms.items()
    }
    return SiteStatistics(SECURE_TOTAL, kept, counts, guideline)
