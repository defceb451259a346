"""Agreement per label, per guideline version and per reader pair, pooled over tasks.

Every figure is computed from the sum of per-task sufficient statistics
(:func:`node.quality.pooling.pool_label`), never as a mean of per-task values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from node.quality.data import PairResult, ProjectData
from node.quality.pooling import Figure, pool_label
from shared.schemas import Label

__all__ = [
    "EXTRA_COLUMNS",
    "LabelFigure",
    "PairFigure",
    "label_figures",
    "pair_figures",
    "version_figures",
]

EXTRA_COLUMNS = (
    "kappa",
    "percent_agreement",
    "mean_dice",
    "pooled_iou",
    "mean_case_f1",
)
"""Secondary figures every label/pair row carries (empty where they do not apply)."""


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def figure_columns(figure: Figure) -> dict[str, Any]:
    """A figure's flat columns (JSON and CSV share them)."""
    row: dict[str, Any] = {
        "metric": figure.metric,
        "value": _number(figure.value),
        "n_comparisons": figure.n,
        "n_tasks": figure.tasks,
        "mean_case": _number(figure.mean_case),
        "se_case": _number(figure.se),
    }
    for name in EXTRA_COLUMNS:
        value = figure.extra.get(name)
        row[name] = None if value is None else _number(value)
    row["note"] = figure.note
    return row


@dataclass(frozen=True)
class LabelFigure:
    """A label's pooled agreement, against its guideline target."""

    label: str
    kind: str
    guideline_version: str
    figure: Figure
    target: float
    adjudication_threshold: float

    @property
    def below_target(self) -> bool:
        """Whether the pooled figure is below the label's agreement target."""
        return math.isfinite(self.figure.value) and self.figure.value < self.target

    def to_row(self) -> dict[str, Any]:
        """Flat row for JSON and CSV."""
        return {
            "label": self.label,
            "kind": self.kind,
            "guideline_version": self.guideline_version,
            **figure_columns(self.figure),
            "target": self.target,
            "adjudication_threshold": self.adjudication_threshold,
            "below_target": self.below_target,
        }


@dataclass(frozen=True)
class PairFigure:
    """A label's pooled agreement between two readers (Cohen's kappa for categories)."""

    label: str
    kind: str
    reader_a: str
    reader_b: str
    figure: Figure

    def to_row(self) -> dict[str, Any]:
        """Flat row for JSON and CSV."""
        return {
            "label": self.label,
            "kind": self.kind,
            "reader_a": self.reader_a,
            "reader_b": self.reader_b,
            **figure_columns(self.figure),
        }


def _label_figure(label: Label, version: str, results: Iterable[PairResult]) -> LabelFigure:
    figure = pool_label(label, results).figure()
    return LabelFigure(
        label.name,
        label.kind.value,
        version,
        figure,
        label.agreement_target,
        label.adjudication_threshold,
    )


def label_figures(data: ProjectData) -> list[LabelFigure]:
    """One pooled figure per label of the project's guideline (all versions together)."""
    return [
        _label_figure(label, "", (p for p in data.pairs if p.label == label.name))
        for label in data.guideline.labels
    ]


def version_figures(data: ProjectData) -> list[LabelFigure]:
    """One pooled figure per guideline version and label, versions in name order."""
    versions = sorted({p.guideline_version for p in data.pairs})
    figures = []
    for version in versions:
        guideline = data.guidelines.get(version, data.guideline)
        for label in guideline.labels:
            results = [
                p for p in data.pairs if p.guideline_version == version and p.label == label.name
            ]
            if results:
                figures.append(_label_figure(label, version, results))
    return figures


def pair_figures(data: ProjectData) -> list[PairFigure]:
    """One pooled figure per label and (sorted) reader pair."""
    figures = []
    for label in data.guideline.labels:
        by_pair: dict[tuple[str, str], list[PairResult]] = {}
        for result in data.pairs:
            if result.label == label.name:
                by_pair.setdefault(result.pair, []).append(result)
        for (a, b), results in sorted(by_pair.items()):
            figure = pool_label(label, results).figure(pairwise=True)
            figures.append(PairFigure(label.name, label.kind.value, a, b, figure))
    return figures
