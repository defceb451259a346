"""Agreement over time: pooled figures per week or month, and flags when it drops.

Each task's figures fall in the window of the moment its round closed. A
label's latest window is flagged when

* its pooled figure is below the label's ``agreement_target``
  (``below_target``), or
* its mean per-case agreement is *significantly* below the previous window's:
  a one-sided z-test on the two means, ``z = (m_prev − m_last) / √(se_prev² +
  se_last²) ≥ z_threshold`` (1.645: p < 0.05), and the drop is at least
  ``min_drop`` (``significant_drop``). Both windows need ``min_cases``
  comparisons; with zero spread in both, any drop of ``min_drop`` counts.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from node.quality.data import PairResult, ProjectData
from node.quality.figures import figure_columns
from node.quality.pooling import Figure, pool_label

__all__ = [
    "DriftFlag",
    "DriftPoint",
    "DriftReport",
    "DriftSettings",
    "Period",
    "drift",
    "window_of",
]


class Period(enum.StrEnum):
    """Width of a drift window."""

    WEEK = "week"
    MONTH = "month"


def window_of(moment: datetime, period: Period) -> tuple[str, date]:
    """The window ``moment`` falls in: its name (``2026-W48``, ``2026-11``) and first day."""
    day = moment.date()
    if period is Period.WEEK:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}", day - timedelta(days=day.weekday())
    return f"{day.year}-{day.month:02d}", day.replace(day=1)


@dataclass(frozen=True)
class DriftSettings:
    """Thresholds of the drift flags."""

    period: Period = Period.MONTH
    z_threshold: float = 1.645
    min_drop: float = 0.05
    min_cases: int = 3


@dataclass(frozen=True)
class DriftPoint:
    """A label's pooled figure in one window."""

    label: str
    kind: str
    window: str
    start: date
    figure: Figure
    target: float

    def to_row(self) -> dict[str, Any]:
        """Flat row for JSON and CSV."""
        return {
            "label": self.label,
            "kind": self.kind,
            "window": self.window,
            "start": self.start.isoformat(),
            **figure_columns(self.figure),
            "target": self.target,
        }


@dataclass(frozen=True)
class DriftFlag:
    """Why a label's latest window is flagged."""

    label: str
    window: str
    reason: str
    value: float
    reference: float
    z: float | None
    message: str

    def to_row(self) -> dict[str, Any]:
        """Flat row for JSON and CSV."""
        return {
            "label": self.label,
            "window": self.window,
            "reason": self.reason,
            "value": self.value,
            "reference": self.reference,
            "z": self.z,
            "message": self.message,
        }


@dataclass(frozen=True)
class DriftReport:
    """Points per label and window (oldest first), and the flags of latest windows."""

    period: Period
    points: tuple[DriftPoint, ...]
    flags: tuple[DriftFlag, ...]


def _drop(previous: Figure, last: Figure, settings: DriftSettings) -> float | None:
    """The z of a significant drop of the mean per-case value, else ``None``."""
    if min(previous.n, last.n) < settings.min_cases:
        return None
    drop = previous.mean_case - last.mean_case
    if not drop >= settings.min_drop:
        return None
    spread = math.hypot(
        previous.se if math.isfinite(previous.se) else 0.0,
        last.se if math.isfinite(last.se) else 0.0,
    )
    z = math.inf if spread == 0 else drop / spread
    return z if z >= settings.z_threshold else None


def drift(data: ProjectData, settings: DriftSettings | None = None) -> DriftReport:
    """Pooled figures per label and window, and flags on each label's latest window."""
    settings = settings or DriftSettings()
    points: list[DriftPoint] = []
    flags: list[DriftFlag] = []
    for label in data.guideline.labels:
        windows: dict[tuple[date, str], list[PairResult]] = {}
        for result in data.pairs:
            if result.label == label.name:
                name, start = window_of(result.measured_at, settings.period)
                windows.setdefault((start, name), []).append(result)
        series = [
            DriftPoint(
                label.name,
                label.kind.value,
                name,
                start,
                pool_label(label, results).figure(),
                label.agreement_target,
            )
            for (start, name), results in sorted(windows.items())
        ]
        points.extend(series)
        if not series:
            continue
        last = series[-1]
        value = last.figure.value
        if math.isfinite(value) and value < label.agreement_target:
            flags.append(
                DriftFlag(
                    label.name,
                    last.window,
                    "below_target",
                    value,
                    label.agreement_target,
                    None,
                    f"{label.name}: {last.figure.metric} {value:.2f} in {last.window} is below "
                    f"the guideline's agreement target {label.agreement_target:.2f}",
                )
            )
        if len(series) >= 2:
            previous = series[-2]
            z = _drop(previous.figure, last.figure, settings)
            if z is not None:
                z_text = "∞" if math.isinf(z) else f"{z:.2f}"
                flags.append(
                    DriftFlag(
                        label.name,
                        last.window,
                        "significant_drop",
                        last.figure.mean_case,
                        previous.figure.mean_case,
                        None if math.isinf(z) else z,
                        f"{label.name}: mean per-case agreement fell from "
                        f"{previous.figure.mean_case:.2f} ({previous.window}) to "
                        f"{last.figure.mean_case:.2f} ({last.window}), z = {z_text}; review "
                        "what changed (new readers, guideline wording, case mix)",
                    )
                )
    return DriftReport(settings.period, tuple(points), tuple(flags))
