"""Pooling a label's stored per-task figures into summable statistics, then one figure.

Each task's stored pair figures (see :class:`~node.quality.data.PairResult`)
become the shared agreement engine's sufficient statistics, which add exactly
across tasks — and, later, across sites in a federated statistics round:

=============== ====================================== ================================
kind            statistics (summed with ``+``)         figure
=============== ====================================== ================================
classification  :class:`~shared.agreement.ConfusionStats` per pair (Cohen's kappa,
                linear weights on an ordinal scale),   label: Krippendorff's alpha;
                :class:`~shared.agreement.CoincidenceStats` pair: Cohen's kappa
                over each task's readers (alpha)
mask            :class:`~shared.agreement.OverlapStats` pooled Dice ``2ΣI / Σ(A+B)``
                (``I`` recovered from the stored Dice
                and both voxel counts)
box, polygon,   :class:`~shared.agreement.DetectionStats` pooled F1 ``2Σm / Σ(a+b)``
keypoint, length
=============== ====================================== ================================

Every kind also keeps :class:`Moments` of the per-task pair values (count, sum,
sum of squares): the mean per-case agreement and its standard error, which the
drift test uses. Nothing here averages per-task kappas or Dice values where the
pooled statistic is exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Self

import numpy as np

from node.quality.data import PairResult
from shared.agreement import (
    CoincidenceStats,
    ConfusionStats,
    DetectionStats,
    EmptyInputError,
    OverlapStats,
)
from shared.agreement.summable import Summable
from shared.schemas import Label, LabelKind, Scale

__all__ = ["Figure", "LabelPool", "Moments", "pool_label"]

DICE_BINS = 20


@dataclass(frozen=True)
class Moments(Summable):
    """Count, sum and sum of squares of per-case values; sums exactly up to rounding."""

    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    @classmethod
    def of(cls, values: Iterable[float]) -> Moments:
        """Moments of ``values``."""
        data = [float(v) for v in values]
        return cls(len(data), sum(data), sum(v * v for v in data))

    def __add__(self, other: object) -> Moments:
        if not isinstance(other, Moments):
            return NotImplemented
        return Moments(self.n + other.n, self.total + other.total, self.squares + other.squares)

    @property
    def mean(self) -> float:
        """Mean per-case value (``nan`` without cases)."""
        return self.total / self.n if self.n else math.nan

    @property
    def se(self) -> float:
        """Standard error of the mean (sample variance; ``nan`` below two cases)."""
        if self.n < 2:
            return math.nan
        variance = max((self.squares - self.n * self.mean**2) / (self.n - 1), 0.0)
        return math.sqrt(variance / self.n)


@dataclass(frozen=True)
class Figure:
    """A pooled agreement figure.

    Attributes
    ----------
    metric
        ``alpha``, ``kappa``, ``pooled_dice`` or ``pooled_f1``.
    value
        The figure (``nan`` when undefined; ``note`` says why).
    n
        Pairwise comparisons pooled (reader pairs × tasks).
    tasks
        Tasks pooled.
    mean_case, se
        Mean per-case pair value and its standard error.
    extra
        Secondary figures (percent agreement, kappa, mean Dice, pooled IoU...).
    note
        Why ``value`` is ``nan``, or a caveat.
    """

    metric: str
    value: float
    n: int
    tasks: int
    mean_case: float
    se: float
    extra: dict[str, float] = field(default_factory=dict)
    note: str = ""


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


@dataclass(frozen=True)
class LabelPool(Summable):
    """Summable statistics of one label over some tasks (and reader pairs)."""

    label: Label
    tasks: int = 0
    moments: Moments = field(default_factory=Moments)
    confusion: ConfusionStats | None = None
    coincidence: CoincidenceStats | None = None
    overlap: OverlapStats | None = None
    detection: DetectionStats | None = None

    def __add__(self, other: object) -> Self:
        if not isinstance(other, LabelPool):
            return NotImplemented
        return type(self)(
            self.label,
            self.tasks + other.tasks,
            self.moments + other.moments,
            _add(self.confusion, other.confusion),
            _add(self.coincidence, other.coincidence),
            _add(self.overlap, other.overlap),
            _add(self.detection, other.detection),
        )

    @classmethod
    def of_task(cls, label: Label, results: Sequence[PairResult]) -> LabelPool:
        """Statistics of one task's pair figures of ``label`` (all pairs, or one)."""
        usable = [r for r in results if r.value is not None]
        pool = cls(
            label, tasks=1 if usable else 0, moments=Moments.of(r.value or 0.0 for r in usable)
        )
        if label.kind is LabelKind.CLASSIFICATION:
            return _classification(pool, usable)
        if label.kind is LabelKind.MASK:
            overlap = None
            for result in usable:
                overlap = _add(overlap, _overlap(result))
            return _replace(pool, overlap=overlap)
        score = "iou" if label.kind in (LabelKind.BOX, LabelKind.POLYGON) else "distance_mm"
        detection = None
        for result in usable:
            detection = _add(detection, _detection(result, score))
        return _replace(pool, detection=detection)

    def figure(self, *, pairwise: bool = False) -> Figure:
        """The pooled figure: alpha (kappa for one pair), pooled Dice or pooled F1."""
        moments = self.moments
        if self.label.kind is LabelKind.CLASSIFICATION:
            return self._classification_figure(pairwise)
        if self.label.kind is LabelKind.MASK:
            if self.overlap is None:
                return _empty("pooled_dice", self.tasks, moments)
            extra = {
                "mean_dice": self.overlap.case_dice_sum[0] / max(self.overlap.n_cases, 1),
                "pooled_iou": self.overlap.pooled_iou()[1],
                "both_empty": float(self.overlap.both_empty[0]),
            }
            value = self.overlap.pooled_dice()[1]
            return Figure(
                "pooled_dice", value, moments.n, self.tasks, moments.mean, moments.se, extra
            )
        if self.detection is None:
            return _empty("pooled_f1", self.tasks, moments)
        extra = {}
        if self.detection.n_cases:
            extra["mean_case_f1"] = self.detection.mean_case_f1()
        if self.detection.n_matched:
            extra["mean_matched_" + self.detection.score] = self.detection.mean_matched_score()
        return Figure(
            "pooled_f1", self.detection.f1(), moments.n, self.tasks, moments.mean, moments.se, extra
        )

    def _classification_figure(self, pairwise: bool) -> Figure:
        moments = self.moments
        metric = "kappa" if pairwise else "alpha"
        if self.confusion is None or self.confusion.n_items == 0:
            return _empty(metric, self.tasks, moments)
        ordinal = self.label.scale is Scale.ORDINAL
        kappa = self.confusion.kappa("linear" if ordinal else None)
        percent = self.confusion.percent_agreement()
        extra = {"kappa": kappa.value, "kappa_se": kappa.se, "percent_agreement": percent.value}
        notes = [kappa.note] if kappa.note else []
        value = kappa.value
        if not pairwise:
            alpha = _alpha(self.coincidence, "ordinal" if ordinal else "nominal")
            extra["alpha"] = alpha[0]
            value = alpha[0]
            notes = [alpha[1]] if alpha[1] else []
        return Figure(
            metric, value, moments.n, self.tasks, moments.mean, moments.se, extra, " ".join(notes)
        )


def _replace(pool: LabelPool, **changes: Any) -> LabelPool:
    return replace(pool, **changes)


def _empty(metric: str, tasks: int, moments: Moments) -> Figure:
    return Figure(
        metric, math.nan, moments.n, tasks, moments.mean, moments.se, {}, "no comparable figures"
    )


def _alpha(stats: CoincidenceStats | None, level: str) -> tuple[float, str]:
    if stats is None:
        return math.nan, "no task had two readers' categories"
    try:
        estimate = stats.alpha(level)  # type: ignore[arg-type]
    except EmptyInputError as exc:
        return math.nan, str(exc)
    return estimate.value, estimate.note


def _oriented(result: PairResult) -> bool:
    """Whether the stored pair is in sorted order (else its a/b fields swap)."""
    return result.reader_a <= result.reader_b


def _classification(pool: LabelPool, results: Sequence[PairResult]) -> LabelPool:
    codes = pool.label.category_codes
    index = {c: i for i, c in enumerate(codes)}
    k = len(codes)
    counts = np.zeros((k, k), dtype=np.int64)
    ratings: dict[str, int] = {}
    for result in results:
        a, b = result.detail.get("a"), result.detail.get("b")
        if a in index:
            ratings[result.reader_a] = index[a]
        if b in index:
            ratings[result.reader_b] = index[b]
        if a in index and b in index:
            i, j = (index[a], index[b]) if _oriented(result) else (index[b], index[a])
            counts[i, j] += 1
    confusion = ConfusionStats(codes, counts) if counts.sum() else None
    coincidence = None
    if len(ratings) >= 2:
        data = np.asarray([[float(v)] for v in ratings.values()])
        coincidence = CoincidenceStats.from_reliability_data(data, list(range(k)))
    return _replace(pool, confusion=confusion, coincidence=coincidence)


def _overlap(result: PairResult) -> OverlapStats:
    size_a = int(result.detail.get("voxels_a", 0) or 0)
    size_b = int(result.detail.get("voxels_b", 0) or 0)
    value = float(result.value or 0.0)
    intersection = round(value * (size_a + size_b) / 2.0) if size_a + size_b else 0
    histogram = np.zeros((1, DICE_BINS), dtype=np.int64)
    histogram[0, min(int(value * DICE_BINS), DICE_BINS - 1)] = 1
    if not _oriented(result):
        size_a, size_b = size_b, size_a
    empty = int(size_a == 0 and size_b == 0)
    return OverlapStats([1], 1, [intersection], [size_a], [size_b], [value], [empty], histogram)


def _detection(result: PairResult, score: str) -> DetectionStats:
    n_a = int(result.detail.get("n_a", 0) or 0)
    n_b = int(result.detail.get("n_b", 0) or 0)
    matched = int(result.detail.get("matched", 0) or 0)
    mean = result.detail.get("mean_iou" if score == "iou" else "mean_distance_mm")
    score_sum = float(mean) * matched if isinstance(mean, int | float) else 0.0
    if not _oriented(result):
        n_a, n_b = n_b, n_a
    return DetectionStats(score, 1, n_a, n_b, matched, score_sum, float(result.value or 0.0))


def pool_label(label: Label, results: Iterable[PairResult]) -> LabelPool:
    """Pool a label's pair figures over tasks: ``Σ LabelPool.of_task(task)``, in one pass.

    The result equals the sum of the per-task statistics (the tests check it), but
    the counts are added up in plain Python and NumPy first and each statistics
    object is built once, instead of once per task: a dashboard over thousands of
    tasks stays fast.
    """
    usable = [r for r in results if r.value is not None]
    pool = LabelPool(
        label,
        tasks=len({r.task_id for r in usable}),
        moments=Moments.of(r.value or 0.0 for r in usable),
    )
    if not usable:
        return pool
    if label.kind is LabelKind.CLASSIFICATION:
        return _classification_bulk(pool, usable)
    if label.kind is LabelKind.MASK:
        return _replace(pool, overlap=_overlap_bulk(usable))
    score = "iou" if label.kind in (LabelKind.BOX, LabelKind.POLYGON) else "distance_mm"
    return _replace(pool, detection=_detection_bulk(usable, score))


def _classification_bulk(pool: LabelPool, results: Sequence[PairResult]) -> LabelPool:
    codes = pool.label.category_codes
    index = {c: i for i, c in enumerate(codes)}
    k = len(codes)
    counts = np.zeros((k, k), dtype=np.int64)
    ratings: dict[int, dict[str, int]] = {}
    for result in results:
        a, b = result.detail.get("a"), result.detail.get("b")
        task = ratings.setdefault(result.task_id, {})
        if a in index:
            task[result.reader_a] = index[a]
        if b in index:
            task[result.reader_b] = index[b]
        if a in index and b in index:
            i, j = (index[a], index[b]) if _oriented(result) else (index[b], index[a])
            counts[i, j] += 1
    confusion = ConfusionStats(codes, counts) if counts.sum() else None
    pairable = [task for task in ratings.values() if len(task) >= 2]
    coincidence = None
    if pairable:
        # One unit per task: coincidences of disjoint units add, so one matrix over all
        # tasks is the sum of the per-task statistics.
        readers = sorted({r for task in pairable for r in task})
        row = {r: i for i, r in enumerate(readers)}
        data = np.full((len(readers), len(pairable)), np.nan)
        for unit, task in enumerate(pairable):
            for reader, value in task.items():
                data[row[reader], unit] = value
        coincidence = CoincidenceStats.from_reliability_data(data, list(range(k)))
    return _replace(pool, confusion=confusion, coincidence=coincidence)


def _overlap_bulk(results: Sequence[PairResult]) -> OverlapStats:
    values = np.asarray([float(r.value or 0.0) for r in results])
    first = np.asarray([int(r.detail.get("voxels_a", 0) or 0) for r in results], dtype=np.int64)
    second = np.asarray([int(r.detail.get("voxels_b", 0) or 0) for r in results], dtype=np.int64)
    oriented = np.asarray([_oriented(r) for r in results])
    size_a, size_b = np.where(oriented, first, second), np.where(oriented, second, first)
    total = size_a + size_b
    intersection = np.where(total > 0, np.round(values * total / 2.0), 0).astype(np.int64)
    bins = np.minimum((values * DICE_BINS).astype(np.int64), DICE_BINS - 1)
    histogram = np.bincount(bins, minlength=DICE_BINS)[None, :]
    return OverlapStats(
        [1],
        len(results),
        [int(intersection.sum())],
        [int(size_a.sum())],
        [int(size_b.sum())],
        [float(values.sum())],
        [int(np.count_nonzero(total == 0))],
        histogram,
    )


def _detection_bulk(results: Sequence[PairResult], score: str) -> DetectionStats:
    n_a = n_b = matched = 0
    score_sum = f1_sum = 0.0
    key = "mean_iou" if score == "iou" else "mean_distance_mm"
    for result in results:
        m = int(result.detail.get("matched", 0) or 0)
        mean = result.detail.get(key)
        first = int(result.detail.get("n_a", 0) or 0)
        second = int(result.detail.get("n_b", 0) or 0)
        if not _oriented(result):
            first, second = second, first
        n_a += first
        n_b += second
        matched += m
        score_sum += float(mean) * m if isinstance(mean, int | float) else 0.0
        f1_sum += float(result.value or 0.0)
    return DetectionStats(score, len(results), n_a, n_b, matched, score_sum, f1_sum)
