"""One agreement figure, with its interval, from a label's summed statistics.

=============== ============================================================
kind            figure (interval)
=============== ============================================================
classification  Cohen's kappa of the pooled reader-pair confusion matrix
                (linear weights on an ordinal scale; Fleiss-Cohen-Everitt
                Wald interval); Krippendorff's alpha of the pooled
                coincidences alongside
mask            pooled Dice ``2ΣI / Σ(A+B)``; interval: the mean per-case
                Dice's normal interval from the binned per-case Dice
                histogram, shifted onto the pooled value (approximate)
box, polygon,   pooled F1 ``2Σm / Σ(a+b)``; Wilson interval treating each
keypoint,       object as a trial (approximate: objects of a case are not
length          independent)
=============== ============================================================

With DP noise the intervals understate the uncertainty; the report says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared.agreement import EmptyInputError
from shared.agreement.estimate import normal_interval, wilson_interval
from shared.schemas import Label, LabelKind, Scale
from shared.schemas.harmonization import LabelStatistics

__all__ = ["AgreementFigure", "disagreement_cells", "label_figure"]


@dataclass(frozen=True)
class AgreementFigure:
    """A pooled agreement figure with its two-sided 95 % interval."""

    metric: str
    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    n: int = 0
    method: str = ""
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def defined(self) -> bool:
        """Whether ``value`` is a number."""
        return not math.isnan(self.value)

    def below(self, target: float) -> bool:
        """Whether the figure is defined and below ``target``."""
        return self.defined and self.value < target

    def to_json(self) -> dict[str, Any]:
        """JSON form (``nan`` as ``null``)."""

        def number(x: float) -> float | None:
            return None if math.isnan(x) else round(float(x), 6)

        return {
            "metric": self.metric,
            "value": number(self.value),
            "ci_low": number(self.ci_low),
            "ci_high": number(self.ci_high),
            "n": self.n,
            "method": self.method,
            "note": self.note,
            "extra": {k: number(v) for k, v in sorted(self.extra.items())},
        }


def _undefined(metric: str, note: str) -> AgreementFigure:
    return AgreementFigure(metric, math.nan, note=note)


def label_figure(stats: LabelStatistics | None, label: Label) -> AgreementFigure:
    """The pooled figure of ``label`` from ``stats`` (undefined, with a note, when empty)."""
    if label.kind is LabelKind.CLASSIFICATION:
        return _classification(stats, label)
    if label.kind is LabelKind.MASK:
        return _mask(stats)
    return _detection(stats)


def _classification(stats: LabelStatistics | None, label: Label) -> AgreementFigure:
    if stats is None or stats.confusion is None or stats.confusion.n_items == 0:
        return _undefined("kappa", "no reader pair rated this label")
    ordinal = label.scale is Scale.ORDINAL
    kappa = stats.confusion.kappa("linear" if ordinal else None)
    percent = stats.confusion.percent_agreement()
    extra = {"percent_agreement": percent.value}
    if stats.coincidence is not None:
        try:
            alpha = stats.coincidence.alpha("ordinal" if ordinal else "nominal")
            extra["alpha"] = alpha.value
        except EmptyInputError:
            pass
    return AgreementFigure(
        "kappa",
        kappa.value,
        kappa.ci_low,
        kappa.ci_high,
        stats.confusion.n_items,
        kappa.method + (" (linear weights)" if ordinal else ""),
        kappa.note,
        extra,
    )


def _mask(stats: LabelStatistics | None) -> AgreementFigure:
    overlap = None if stats is None else stats.overlap
    if overlap is None or overlap.n_cases == 0:
        return _undefined("pooled_dice", "no reader pair drew this label")
    value = overlap.pooled_dice()[overlap.labels[0]]
    histogram = overlap.dice_histogram[0].astype(np.float64)
    edges = overlap.dice_bin_edges()
    centres = (edges[:-1] + edges[1:]) / 2.0
    n = float(histogram.sum())
    low = high = math.nan
    if n >= 2:
        mean = float((histogram * centres).sum() / n)
        variance = float((histogram * (centres - mean) ** 2).sum() / (n - 1))
        se = math.sqrt(variance / n)
        low, high = normal_interval(value, se, 0.95)
        low, high = max(low, 0.0), min(high, 1.0)
    return AgreementFigure(
        "pooled_dice",
        value,
        low,
        high,
        overlap.n_cases,
        "approximate: normal interval of the binned per-case Dice, around the pooled Dice",
        "",
        {"mean_dice": overlap.mean_dice()[overlap.labels[0]]},
    )


def _detection(stats: LabelStatistics | None) -> AgreementFigure:
    detection = None if stats is None else stats.detection
    if detection is None or detection.n_a + detection.n_b == 0:
        return _undefined("pooled_f1", "no reader pair marked this label")
    total = detection.n_a + detection.n_b
    low, high = wilson_interval(2 * detection.n_matched, total, 0.95)
    extra = {"mean_case_f1": detection.mean_case_f1()} if detection.n_cases else {}
    return AgreementFigure(
        "pooled_f1",
        detection.f1(),
        low,
        high,
        detection.n_cases,
        "approximate: Wilson interval, each object a trial",
        "",
        extra,
    )


def _cell_order(cell: dict[str, Any]) -> tuple[int, str]:
    return (-int(cell["count"]), str(cell["categories"]))


def disagreement_cells(stats: LabelStatistics | None, *, top: int = 5) -> list[dict[str, Any]]:
    """The most frequent off-diagonal category pairs of the pooled confusion matrix.

    The matrix is symmetrised (reader order carries no meaning), so each
    unordered pair of categories appears once, with its count and its share
    of all disagreements.
    """
    if stats is None or stats.confusion is None:
        return []
    counts = stats.confusion.counts
    symmetric = counts + counts.T
    codes = [str(c) for c in stats.confusion.categories]
    cells = []
    disagreements = int(np.triu(symmetric, 1).sum())
    for i in range(len(codes)):
        for j in range(i + 1, len(codes)):
            count = int(symmetric[i, j])
            if count:
                cells.append(
                    {
                        "categories": [codes[i], codes[j]],
                        "count": count,
                        "share": round(count / disagreements, 6),
                    }
                )
    cells.sort(key=_cell_order)
    return cells[:top]
