"""A project's per-label agreement sufficient statistics, as the egress gate's payload.

The statistics are the quality dashboard's own (:func:`node.quality.pool_label`
over the stored per-task pair figures, every guideline version together), so
a federated round adds exactly what the local dashboard adds:

============== ============================== =====================================
label kind     statistics released            pooled figure at the coordinator
============== ============================== =====================================
classification ``confusion`` (reader pairs),  Cohen's kappa, percent agreement;
               ``coincidence`` (per task)     Krippendorff's alpha
mask           ``overlap``                    pooled Dice
box, polygon,  ``detection``                  pooled F1
keypoint,
length
============== ============================== =====================================

Two switches serve the privacy-protected releases:

``bounded``
    mask and detection statistics are built with a bounded contribution per
    task (:mod:`node.stats.bounded`), so they can be noised;
``complete``
    every label of the guideline gets every statistic of its kind, zeros
    where the site has nothing: what a site releases then does not depend on
    which labels it has data for (noised releases and the secure sum's fixed
    layout need that).

Reader names never leave: the statistics hold category codes and counts only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from node.quality import ProjectData, pool_label
from node.stats.bounded import DICE_BINS, bounded_detection, bounded_overlap, detection_score
from shared.agreement import CoincidenceStats, ConfusionStats, DetectionStats, OverlapStats
from shared.schemas import Label, LabelKind

__all__ = ["agreement_payload", "statistics_of_kind"]


def statistics_of_kind(kind: LabelKind) -> tuple[str, ...]:
    """The statistics a label of ``kind`` has."""
    if kind is LabelKind.CLASSIFICATION:
        return ("confusion", "coincidence")
    if kind is LabelKind.MASK:
        return ("overlap",)
    return ("detection",)


def _zero(label: Label, statistic: str) -> Any:
    k = len(label.category_codes)
    if statistic == "confusion":
        return ConfusionStats(label.category_codes, np.zeros((k, k), dtype=np.int64))
    if statistic == "coincidence":
        return CoincidenceStats(np.arange(k, dtype=np.float64), np.zeros((k, k)))
    if statistic == "overlap":
        return OverlapStats([1], 0, [0], [0], [0], [0.0], [0], np.zeros((1, DICE_BINS)))
    return DetectionStats(detection_score(label.kind), 0, 0, 0, 0, 0.0, 0.0)


def agreement_payload(
    data: ProjectData, *, bounded: bool = False, complete: bool = False
) -> dict[str, Any]:
    """``{"guideline": {name, version}, "statistics": [{label, statistic, arrays}]}``.

    Without ``complete``, labels without any comparable pair figure are left out.
    """
    entries: list[dict[str, Any]] = []
    for label in data.guideline.labels:
        pairs = [p for p in data.pairs if p.label == label.name]
        pool = pool_label(label, pairs)
        found: dict[str, Any] = {
            "confusion": pool.confusion,
            "coincidence": pool.coincidence,
            "overlap": pool.overlap,
            "detection": pool.detection,
        }
        if bounded and label.kind is LabelKind.MASK:
            found["overlap"] = bounded_overlap(pairs) if pool.overlap is not None else None
        elif bounded and label.kind is not LabelKind.CLASSIFICATION:
            score = detection_score(label.kind)
            found["detection"] = (
                bounded_detection(pairs, score) if pool.detection is not None else None
            )
        for statistic in statistics_of_kind(label.kind):
            stats = found[statistic]
            if stats is None and complete:
                stats = _zero(label, statistic)
            if stats is not None:
                entries.append(
                    {"label": label.name, "statistic": statistic, "arrays": stats.to_arrays()}
                )
    return {
        "guideline": {"name": data.guideline.name, "version": data.guideline.version},
        "statistics": entries,
    }
