"""One project's quality report: every figure the dashboard shows, built at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from node.quality.checks import CheckThresholds, Finding, run_checks
from node.quality.data import ProjectData
from node.quality.drift import DriftReport, DriftSettings, drift
from node.quality.figures import (
    LabelFigure,
    PairFigure,
    label_figures,
    pair_figures,
    version_figures,
)
from node.quality.readers import ReaderFigure, StapleCache, reader_figures
from node.quality.source import load_project

__all__ = ["QualityReport", "QualityService", "build_report"]


@dataclass(frozen=True)
class QualityReport:
    """Every dashboard figure of one project at one moment."""

    data: ProjectData
    generated_at: datetime
    labels: tuple[LabelFigure, ...]
    versions: tuple[LabelFigure, ...]
    pairs: tuple[PairFigure, ...]
    readers: tuple[ReaderFigure, ...]
    drift: DriftReport
    findings: tuple[Finding, ...]

    def header(self) -> dict[str, Any]:
        """What every JSON view starts with."""
        statuses = Counter(t.status for t in self.data.tasks.values())
        return {
            "project": self.data.name,
            "guideline": self.data.guideline.key,
            "generated_at": self.generated_at.isoformat(),
            "tasks": {"total": len(self.data.tasks), "by_status": dict(sorted(statuses.items()))},
            "readers": list(self.data.readers),
        }

    def reader_rows(self) -> list[dict[str, Any]]:
        """Reader rows, with each label's scale for the consensus kappa."""
        return [r.to_row(self.data.label(r.label) if r.label else None) for r in self.readers]

    def label_rows(self) -> list[dict[str, Any]]:
        """Label rows over all versions, then per version."""
        return [f.to_row() for f in (*self.labels, *self.versions)]

    def to_json(self) -> dict[str, Any]:
        """The summary view: everything, as JSON-ready values."""
        return {
            **self.header(),
            "labels": [f.to_row() for f in self.labels],
            "versions": [f.to_row() for f in self.versions],
            "pairs": [f.to_row() for f in self.pairs],
            "reader_figures": self.reader_rows(),
            "drift": self.drift_json(),
            "findings": [f.to_row() for f in self.findings],
        }

    def drift_json(self) -> dict[str, Any]:
        """The drift view."""
        return {
            "period": self.drift.period.value,
            "points": [p.to_row() for p in self.drift.points],
            "flags": [f.to_row() for f in self.drift.flags],
        }


def build_report(
    data: ProjectData,
    now: datetime,
    *,
    drift_settings: DriftSettings | None = None,
    thresholds: CheckThresholds | None = None,
    staple_cache: StapleCache | None = None,
) -> QualityReport:
    """Compute every figure and run every check on ``data``."""
    labels = label_figures(data)
    readers = reader_figures(data, staple_cache)
    over_time = drift(data, drift_settings)
    findings = run_checks(data, labels, readers, over_time, now, thresholds)
    return QualityReport(
        data=data,
        generated_at=now,
        labels=tuple(labels),
        versions=tuple(version_figures(data)),
        pairs=tuple(pair_figures(data)),
        readers=tuple(readers),
        drift=over_time,
        findings=tuple(findings),
    )


class QualityService:
    """Builds quality reports from a node's database.

    Parameters
    ----------
    engine
        The node's migrated database.
    clock
        The current time (timezone-aware); stuck-adjudication ages count from it.
    thresholds
        Check thresholds (defaults: :class:`CheckThresholds`).

    Keep one service per node: it remembers each closed task's STAPLE results
    (:class:`~node.quality.readers.StapleCache`), so only new tasks cost a rerun.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime] | None = None,
        thresholds: CheckThresholds | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock or (lambda: datetime.now(UTC))
        self._thresholds = thresholds
        self._staple = StapleCache()

    def report(self, project: str, *, drift_settings: DriftSettings | None = None) -> QualityReport:
        """The quality report of ``project`` (:class:`~node.errors.NotFoundError` if none)."""
        data = load_project(self._engine, project)
        return build_report(
            data,
            self._clock(),
            drift_settings=drift_settings,
            thresholds=self._thresholds,
            staple_cache=self._staple,
        )
