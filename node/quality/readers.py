"""Each reader's figures: agreement with the others, STAPLE performance, habits.

Per reader and label:

* **agreement with others** — mean per-case agreement over the pairs the reader
  is part of, next to the same mean over the pairs without them (the "rest");
  pairs where neither reader marked anything are left out (they agree trivially);
* **STAPLE sensitivity and specificity** (mask labels) — STAPLE
  (:func:`shared.consensus.staple`) is rerun per closed task on the readers'
  stored masks over the slices anyone painted, as the task's consensus did;
  its soft counts ``Σ W·D``, ``Σ W``, ``Σ (1−W)(1−D)``, ``Σ (1−W)`` add across
  tasks (:class:`SoftCounts`), so the pooled sensitivity ``ΣW·D / ΣW`` weighs
  voxels, not tasks;
* **agreement with the consensus** (classification labels) — a
  :class:`~shared.agreement.ConfusionStats` of reader vs consensus category,
  summed over tasks: percent agreement and Cohen's kappa;
* **habits** — annotations, "cannot assess" rate, mean confidence and the
  share of low-confidence annotations (the bottom quarter of the scale).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from node.quality.data import ProjectData, ReaderAnnotation, TaskState
from node.quality.pooling import Moments
from shared.agreement import ConfusionStats
from shared.agreement.summable import Summable
from shared.consensus import staple
from shared.formats.rle import rle_decode
from shared.schemas import ConfidenceScale, Label, LabelKind, Scale

__all__ = [
    "ReaderFigure",
    "SoftCounts",
    "StapleCache",
    "low_confidence_level",
    "reader_figures",
    "staple_counts",
]


@dataclass(frozen=True)
class SoftCounts(Summable):
    """STAPLE soft confusion sums of one reader; add across tasks."""

    true_positive: float = 0.0
    positive: float = 0.0
    true_negative: float = 0.0
    negative: float = 0.0
    tasks: int = 0

    def __add__(self, other: object) -> SoftCounts:
        if not isinstance(other, SoftCounts):
            return NotImplemented
        return SoftCounts(
            self.true_positive + other.true_positive,
            self.positive + other.positive,
            self.true_negative + other.true_negative,
            self.negative + other.negative,
            self.tasks + other.tasks,
        )

    @property
    def sensitivity(self) -> float:
        """``ΣW·D / ΣW`` (``nan`` with no foreground)."""
        return self.true_positive / self.positive if self.positive > 0 else math.nan

    @property
    def specificity(self) -> float:
        """``Σ(1−W)(1−D) / Σ(1−W)`` (``nan`` with no background)."""
        return self.true_negative / self.negative if self.negative > 0 else math.nan


def low_confidence_level(scale: ConfidenceScale) -> int:
    """Highest confidence that counts as low: the bottom quarter of the scale."""
    return scale.minimum + (scale.maximum - scale.minimum) // 4


def _mask_volume(
    annotations: Sequence[ReaderAnnotation], keys: Sequence[int], shape: tuple[int, int]
) -> npt.NDArray[np.bool_]:
    position = {k: i for i, k in enumerate(keys)}
    volume = np.zeros((len(keys), *shape), dtype=bool)
    for annotation in annotations:
        if annotation.cannot_assess:
            continue
        for key, rle in (annotation.geometry.get("slices") or {}).items():
            if int(key) in position:
                volume[position[int(key)]] |= rle_decode(rle)
    return volume


def staple_counts(
    label: str, task: TaskState, annotations: Sequence[ReaderAnnotation]
) -> dict[str, SoftCounts]:
    """STAPLE soft counts of each reader of one task's mask label (empty if unpainted)."""
    per_reader = {
        r: [a for a in annotations if a.task_id == task.id and a.reader == r and a.label == label]
        for r in task.readers
    }
    keys: set[int] = set()
    shape: tuple[int, int] | None = None
    for marked in per_reader.values():
        for annotation in marked:
            if annotation.cannot_assess:
                continue
            for key, rle in (annotation.geometry.get("slices") or {}).items():
                keys.add(int(key))
                shape = (int(rle["size"][0]), int(rle["size"][1]))
    if len(per_reader) < 2 or not keys or shape is None:
        return {}
    ordered = sorted(keys)
    volumes = np.stack([_mask_volume(m, ordered, shape) for m in per_reader.values()])
    result = staple(volumes)
    w = result.probability.astype(np.float64).ravel()
    positive, negative = float(w.sum()), float((1.0 - w).sum())
    counts = {}
    for i, reader in enumerate(per_reader):
        d = volumes[i].ravel()
        counts[reader] = SoftCounts(
            float(w[d].sum()), positive, float((1.0 - w[~d]).sum()), negative, 1
        )
    return counts


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class ReaderFigure:
    """One reader's figures for one label (``label == ""``: all labels together)."""

    reader: str
    label: str
    kind: str
    tasks: int
    annotations: int
    cannot_assess: int
    mean_confidence: float
    low_confidence: int
    agreement: Moments = field(default_factory=Moments)
    rest_agreement: Moments = field(default_factory=Moments)
    staple: SoftCounts | None = None
    consensus: ConfusionStats | None = None

    @property
    def cannot_assess_rate(self) -> float:
        """Share of the reader's annotations marked 'cannot assess'."""
        return self.cannot_assess / self.annotations if self.annotations else math.nan

    @property
    def low_confidence_rate(self) -> float:
        """Share of the reader's rated annotations with low confidence."""
        return self.low_confidence / self.annotations if self.annotations else math.nan

    def consensus_figures(self, ordinal: bool) -> tuple[float, float]:
        """Percent agreement and Cohen's kappa with the consensus (``nan`` if none)."""
        if self.consensus is None or self.consensus.n_items == 0:
            return math.nan, math.nan
        kappa = self.consensus.kappa("linear" if ordinal else None).value
        return self.consensus.percent_agreement().value, kappa

    def to_row(self, label: Label | None = None) -> dict[str, Any]:
        """Flat row for JSON and CSV."""
        ordinal = label is not None and label.scale is Scale.ORDINAL
        percent, kappa = self.consensus_figures(ordinal)
        return {
            "reader": self.reader,
            "label": self.label,
            "kind": self.kind,
            "tasks": self.tasks,
            "annotations": self.annotations,
            "cannot_assess": self.cannot_assess,
            "cannot_assess_rate": _number(self.cannot_assess_rate),
            "mean_confidence": _number(self.mean_confidence),
            "low_confidence_rate": _number(self.low_confidence_rate),
            "agreement_with_others": _number(self.agreement.mean),
            "n_pairs": self.agreement.n,
            "agreement_of_rest": _number(self.rest_agreement.mean),
            "n_pairs_rest": self.rest_agreement.n,
            "staple_sensitivity": _number(self.staple.sensitivity) if self.staple else None,
            "staple_specificity": _number(self.staple.specificity) if self.staple else None,
            "staple_tasks": self.staple.tasks if self.staple else 0,
            "consensus_agreement": _number(percent),
            "consensus_kappa": _number(kappa),
            "consensus_items": self.consensus.n_items if self.consensus else 0,
        }


def _split(
    everyone: Mapping[str, Moments],
    with_reader: Mapping[tuple[str, str], Moments],
    reader: str,
    label: str,
) -> tuple[Moments, Moments]:
    """Moments of the pairs with ``reader``, and of the rest (everyone's minus theirs)."""
    total = everyone.get(label, Moments())
    mine = with_reader.get((reader, label), Moments())
    n = total.n - mine.n
    rest = Moments(n, total.total - mine.total, max(total.squares - mine.squares, 0.0))
    return mine, rest if n else Moments()


def _classification_value(annotations: Sequence[ReaderAnnotation]) -> str | None:
    values = [a.geometry.get("value") for a in annotations if not a.cannot_assess and a.geometry]
    return str(values[-1]) if values and values[-1] is not None else None


def _consensus_value(payload: Mapping[str, Any]) -> str | None:
    for annotation in payload.get("annotations") or []:
        geometry = annotation.get("geometry") or {}
        if not annotation.get("cannot_assess") and geometry.get("value") is not None:
            return str(geometry["value"])
    return None


def _habits(
    reader: str, label: str, kind: str, tasks: int, marked: Sequence[ReaderAnnotation], low: int
) -> ReaderFigure:
    confidences = [a.confidence for a in marked if a.confidence is not None]
    return ReaderFigure(
        reader,
        label,
        kind,
        tasks,
        len(marked),
        sum(1 for a in marked if a.cannot_assess),
        float(np.mean(confidences)) if confidences else math.nan,
        sum(1 for c in confidences if c <= low),
    )


class StapleCache:
    """Per-task STAPLE soft counts, kept across reports (bounded, least recently used first out).

    A closed round's masks do not change; the key also carries every annotation's id and
    update time, so a reopened and re-read task is computed again.
    """

    def __init__(self, capacity: int = 20_000) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[Any, ...], dict[str, SoftCounts]] = OrderedDict()
        self._lock = threading.Lock()

    def counts(
        self, label: str, task: TaskState, annotations: Sequence[ReaderAnnotation]
    ) -> dict[str, SoftCounts]:
        """:func:`staple_counts`, from the cache when the task's masks are unchanged."""
        key = (
            task.id,
            task.round,
            label,
            tuple(sorted((a.annotation_id, a.updated_at.isoformat()) for a in annotations)),
        )
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        counts = staple_counts(label, task, annotations)
        with self._lock:
            self._entries[key] = counts
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return counts


def reader_figures(data: ProjectData, cache: StapleCache | None = None) -> list[ReaderFigure]:
    """Per reader: one row over all labels, then one per label of the guideline."""
    low = low_confidence_level(data.guideline.confidence)
    closed = {i: t for i, t in data.tasks.items() if t.status != "open"}
    marked: dict[tuple[str, str], list[ReaderAnnotation]] = {}
    by_task: dict[tuple[int, str, str], list[ReaderAnnotation]] = {}
    for annotation in data.annotations:
        marked.setdefault((annotation.reader, annotation.label), []).append(annotation)
        by_task.setdefault((annotation.task_id, annotation.reader, annotation.label), []).append(
            annotation
        )
    # Moments of the informative pair values: per label (and "" for all), everyone's and
    # each reader's; the rest of a reader is everyone's minus theirs.
    sums: dict[tuple[str, str], list[float]] = {}  # (reader or "", label or "") -> n, Σ, Σ²
    for result in data.pairs:
        if result.value is None or result.both_empty:
            continue
        value = result.value
        for key in (result.label, ""):
            for who in {"", result.reader_a, result.reader_b}:
                cell = sums.setdefault((who, key), [0.0, 0.0, 0.0])
                cell[0] += 1
                cell[1] += value
                cell[2] += value * value
    everyone = {k: Moments(int(v[0]), v[1], v[2]) for (who, k), v in sums.items() if not who}
    with_reader = {key: Moments(int(v[0]), v[1], v[2]) for key, v in sums.items() if key[0]}
    by_reader: dict[str, list[ReaderAnnotation]] = {}
    for annotation in data.annotations:
        by_reader.setdefault(annotation.reader, []).append(annotation)
    assigned: dict[str, int] = {}
    for task in data.tasks.values():
        for name in set(task.readers):
            assigned[name] = assigned.get(name, 0) + 1
    staple_totals = {
        label.name: _staple_totals(label.name, closed, data.annotations, cache or StapleCache())
        for label in data.guideline.labels
        if label.kind is LabelKind.MASK
    }
    rows: list[ReaderFigure] = []
    for reader in data.readers:
        tasks = assigned.get(reader, 0)
        overall = _habits(reader, "", "", tasks, by_reader.get(reader, []), low)
        with_me, rest = _split(everyone, with_reader, reader, "")
        rows.append(_with(overall, agreement=with_me, rest_agreement=rest))
        for label in data.guideline.labels:
            figure = _habits(
                reader,
                label.name,
                label.kind.value,
                tasks,
                marked.get((reader, label.name), []),
                low,
            )
            with_me, rest = _split(everyone, with_reader, reader, label.name)
            changes: dict[str, Any] = {"agreement": with_me, "rest_agreement": rest}
            if label.kind is LabelKind.MASK:
                changes["staple"] = staple_totals[label.name].get(reader)
            elif label.kind is LabelKind.CLASSIFICATION:
                changes["consensus"] = _consensus_of(reader, label, closed, data, by_task)
            rows.append(_with(figure, **changes))
    return rows


def _staple_totals(
    label: str,
    closed: Mapping[int, TaskState],
    annotations: Sequence[ReaderAnnotation],
    cache: StapleCache,
) -> dict[str, SoftCounts]:
    """Each reader's STAPLE soft counts summed over the closed tasks (one run per task)."""
    by_task: dict[int, list[ReaderAnnotation]] = {}
    for annotation in annotations:
        if annotation.label == label and annotation.task_id in closed:
            by_task.setdefault(annotation.task_id, []).append(annotation)
    totals: dict[str, SoftCounts] = {}
    for task_id, marked in by_task.items():
        for reader, counts in cache.counts(label, closed[task_id], marked).items():
            totals[reader] = totals[reader] + counts if reader in totals else counts
    return totals


def _consensus_of(
    reader: str,
    label: Label,
    closed: Mapping[int, TaskState],
    data: ProjectData,
    by_task: Mapping[tuple[int, str, str], Sequence[ReaderAnnotation]],
) -> ConfusionStats | None:
    codes = label.category_codes
    index = {c: i for i, c in enumerate(codes)}
    counts = np.zeros((len(codes), len(codes)), dtype=np.int64)
    for consensus in data.consensus:
        if consensus.label != label.name or consensus.task_id not in closed:
            continue
        if reader not in closed[consensus.task_id].readers:
            continue
        agreed = _consensus_value(consensus.payload)
        mine = _classification_value(by_task.get((consensus.task_id, reader, label.name), []))
        if agreed in index and mine in index:
            counts[index[mine], index[agreed]] += 1
    return ConfusionStats(codes, counts) if counts.sum() else None


def _with(figure: ReaderFigure, **changes: Any) -> ReaderFigure:
    return replace(figure, **changes)
