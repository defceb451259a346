"""Mask-overlap and detection statistics with a bounded contribution per task, for noised releases.

Raw overlap sums are voxel counts and raw detection sums are object counts:
one task can move them by any amount, so no noise scale protects it. Under
noise the node releases these instead, built so that **each task adds at
most 1 to every field** (in units of the field's public bound ``b``):

Per reader pair ``(A, B)`` of a task, sizes are normalised by the pair's
larger size ``m = max(|A|, |B|)`` (``m = 0``: the pair adds zeros), then
averaged over the task's pairs, so a task adds one "averaged pair":

=================== ==================================================== =========
field               one task adds                                        bound b
=================== ==================================================== =========
overlap ``n_cases`` 1                                                    1
``intersection``,   ``mean over pairs of |A∩B|/m`` (resp. ``|A|/m``,     ``UNIT``
``size_a/b``        ``|B|/m``), in fixed point ``UNIT`` = 1024
``case_dice_sum``   mean per-pair Dice                                   1
``both_empty``      1 if every pair left the label empty                 1
``dice_histogram``  1 in the bin of the task's mean Dice                 1
detection           1 / ``mean n_a/m``, ``n_b/m``, ``matched/m`` (fixed  1 /
``n_cases`` /       point ``UNIT``) / mean of ``matched/m × score``,     ``UNIT`` /
counts / scores /   score = IoU, or the matched distance clipped to      1 or
``case_f1_sum``     :data:`DISTANCE_BOUND_MM` / mean per-pair F1         ``D`` / 1
=================== ==================================================== =========

So one statistic of ``f`` fields changes by at most ``sqrt(f)`` in L2 when
its fields are measured in units of their bounds: it is released as **one**
Gaussian mechanism, each field noised with ``σ = z · sqrt(f) · b``
(:func:`bounded_plan`). The pooled Dice ``2Σ|A∩B| / Σ(|A|+|B|)`` then weighs
each task's averaged pair equally (a size-normalised pooled Dice), and the
pooled F1 likewise; both are stated as such in the round's result.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from node.quality import PairResult
from node.stats.privacy import NoisedArray
from shared.agreement import DetectionStats, OverlapStats

__all__ = [
    "DICE_BINS",
    "DISTANCE_BOUND_MM",
    "UNIT",
    "bounded_detection",
    "bounded_overlap",
    "bounded_plan",
    "detection_score",
    "repair_detection",
]

UNIT = 1024
"""Fixed point of the normalised sizes and counts: one averaged pair's larger size is ``UNIT``."""
DISTANCE_BOUND_MM = 20.0
"""Matched keypoint/length distances are clipped to this (public) bound before summing."""
DICE_BINS = 20
"""Bins of the per-case Dice histogram (as the dashboard's)."""


def _oriented(pair: PairResult) -> bool:
    return pair.reader_a <= pair.reader_b


def _by_task(pairs: Iterable[PairResult]) -> dict[int, list[PairResult]]:
    tasks: dict[int, list[PairResult]] = defaultdict(list)
    for pair in pairs:
        if pair.value is not None:
            tasks[pair.task_id].append(pair)
    return tasks


def _detail(pair: PairResult, key: str) -> int:
    return int(pair.detail.get(key, 0) or 0)


def bounded_overlap(pairs: Iterable[PairResult]) -> OverlapStats:
    """The overlap statistics of a mask label, one bounded contribution per task."""
    tasks = _by_task(pairs)
    inter = size_a = size_b = 0
    dice_sum = 0.0
    empty = 0
    histogram = np.zeros((1, DICE_BINS), dtype=np.int64)
    for task_pairs in tasks.values():
        normalised = []
        dices = []
        all_empty = True
        for pair in task_pairs:
            first, second = _detail(pair, "voxels_a"), _detail(pair, "voxels_b")
            if not _oriented(pair):
                first, second = second, first
            value = min(max(float(pair.value or 0.0), 0.0), 1.0)
            larger = max(first, second)
            dices.append(value)
            if larger == 0:
                normalised.append((0.0, 0.0, 0.0))
                continue
            all_empty = False
            overlap = min(value * (first + second) / 2.0, float(min(first, second)))
            normalised.append((overlap / larger, first / larger, second / larger))
        means = np.mean(np.asarray(normalised), axis=0)
        inter += round(UNIT * float(means[0]))
        size_a += round(UNIT * float(means[1]))
        size_b += round(UNIT * float(means[2]))
        mean_dice = float(np.mean(dices))
        dice_sum += mean_dice
        empty += int(all_empty)
        histogram[0, min(int(mean_dice * DICE_BINS), DICE_BINS - 1)] += 1
    return OverlapStats(
        [1], len(tasks), [inter], [size_a], [size_b], [dice_sum], [empty], histogram
    )


def bounded_detection(pairs: Iterable[PairResult], score: str) -> DetectionStats:
    """The detection statistics of a box/polygon/keypoint/length label, bounded per task."""
    tasks = _by_task(pairs)
    key = "mean_iou" if score == "iou" else "mean_distance_mm"
    bound = 1.0 if score == "iou" else DISTANCE_BOUND_MM
    n_a = n_b = matched = 0
    score_sum = f1_sum = 0.0
    for task_pairs in tasks.values():
        rows = []
        for pair in task_pairs:
            first, second = _detail(pair, "n_a"), _detail(pair, "n_b")
            if not _oriented(pair):
                first, second = second, first
            pairs_matched = min(_detail(pair, "matched"), first, second)
            larger = max(first, second)
            f1 = min(max(float(pair.value or 0.0), 0.0), 1.0)
            if larger == 0:
                rows.append((0.0, 0.0, 0.0, 0.0, f1))
                continue
            mean = pair.detail.get(key)
            value = min(max(float(mean), 0.0), bound) if isinstance(mean, int | float) else 0.0
            share = pairs_matched / larger
            rows.append((first / larger, second / larger, share, share * value, f1))
        means = np.mean(np.asarray(rows), axis=0)
        task_a, task_b = round(UNIT * float(means[0])), round(UNIT * float(means[1]))
        n_a += task_a
        n_b += task_b
        matched += min(round(UNIT * float(means[2])), task_a, task_b)
        score_sum += float(means[3])
        f1_sum += float(means[4])
    return DetectionStats(score, len(tasks), n_a, n_b, matched, score_sum, f1_sum)


_OVERLAP_BOUNDS: dict[str, tuple[float, bool]] = {
    "n_cases": (1.0, True),
    "intersection": (float(UNIT), True),
    "size_a": (float(UNIT), True),
    "size_b": (float(UNIT), True),
    "case_dice_sum": (1.0, False),
    "both_empty": (1.0, True),
    "dice_histogram": (1.0, True),
}


def bounded_plan(statistic: str, score: str = "iou") -> dict[str, NoisedArray]:
    """One bounded statistic's noise as **one** Gaussian mechanism (``σ_f = z·sqrt(f)·b_f``)."""
    if statistic == "overlap":
        bounds = _OVERLAP_BOUNDS
    elif statistic == "detection":
        bounds = {
            "n_cases": (1.0, True),
            "n_a": (float(UNIT), True),
            "n_b": (float(UNIT), True),
            "n_matched": (float(UNIT), True),
            "score_sum": (1.0 if score == "iou" else DISTANCE_BOUND_MM, False),
            "case_f1_sum": (1.0, False),
        }
    else:
        raise ValueError(f"no bounded form of {statistic} statistics")
    root = math.sqrt(len(bounds))
    return {
        name: NoisedArray(root * bound, integer=whole) for name, (bound, whole) in bounds.items()
    }


def repair_detection(arrays: dict[str, Any]) -> dict[str, Any]:
    """Noised detection arrays made consistent: ``n_matched ≤ min(n_a, n_b)`` (post-processing)."""
    out = dict(arrays)
    ceiling = np.minimum(np.asarray(out["n_a"]), np.asarray(out["n_b"]))
    out["n_matched"] = np.asarray(np.minimum(np.asarray(out["n_matched"]), ceiling))
    return out


def detection_score(kind: str) -> str:
    """``iou`` for boxes and polygons, ``distance_mm`` for keypoints and lengths."""
    return "iou" if kind in ("box", "polygon") else "distance_mm"
