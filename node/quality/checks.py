"""Automated quality checks: each finding names its subject, figure and threshold.

===================== =========================================================== =========
check                 fires when                                                   severity
===================== =========================================================== =========
``label_below_target`` a label's pooled figure < its ``agreement_target``           warning;
                      (needs ``min_comparisons``)                                  critical
                                                                                   below its
                                                                                   adjudication
                                                                                   threshold
``reader_outlier``    a reader's mean agreement with the others is at least        warning;
                      ``reader_gap`` below the mean of the pairs without them      critical
                      (≥ 3 readers, ``min_comparisons`` pairs each side)           at 2× gap
``cannot_assess``     a reader's "cannot assess" rate exceeds the rate of their    warning
                      peers by ``cannot_assess_excess`` and is at least
                      ``cannot_assess_ratio`` times it (``min_annotations``)
``implausible_size``  a mask's volume (log mm³) or a length (mm) has a robust      warning
                      z-score ``0.6745 (x − median) / MAD`` beyond
                      ``robust_z`` among the label's others (``min_annotations``)
``stuck_adjudication`` a task has waited in adjudication ``stuck_days`` or more   warning;
                                                                                   critical
                                                                                   at 4×
``low_confidence``    every reader of a closed task gave a label low confidence    info;
                      (a cluster), or a label's low-confidence share is at least   warning
                      ``low_confidence_share`` (``min_annotations``)
``drift``             a label's latest window is below target or significantly     warning
                      below the previous one (:mod:`node.quality.drift`)
===================== =========================================================== =========
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from node.quality.data import ProjectData
from node.quality.drift import DriftReport
from node.quality.figures import LabelFigure
from node.quality.readers import ReaderFigure, low_confidence_level
from shared.schemas import LabelKind

__all__ = [
    "CheckThresholds",
    "Finding",
    "Severity",
    "cannot_assess_findings",
    "drift_findings",
    "implausible_size_findings",
    "label_target_findings",
    "low_confidence_findings",
    "reader_outlier_findings",
    "robust_z",
    "run_checks",
    "stuck_adjudication_findings",
]


class Severity(enum.StrEnum):
    """How urgent a finding is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class CheckThresholds:
    """The thresholds of every check (defaults documented in docs/quality.md)."""

    min_comparisons: int = 3
    reader_gap: float = 0.15
    cannot_assess_excess: float = 0.15
    cannot_assess_ratio: float = 2.0
    min_annotations: int = 5
    robust_z: float = 3.5
    stuck_days: float = 7.0
    low_confidence_share: float = 0.4


@dataclass(frozen=True)
class Finding:
    """One result of a check.

    Attributes
    ----------
    check
        Which check fired (``reader_outlier``...).
    severity
        info, warning or critical.
    subject_type, subject
        What it is about: ``label``, ``reader``, ``task`` or ``annotation``, and its name/id.
    label
        The label concerned ("" when none).
    figure, threshold
        The measured value and the threshold it crossed.
    message
        A sentence for people, saying what to look at.
    """

    check: str
    severity: Severity
    subject_type: str
    subject: str
    label: str
    figure: float
    threshold: float
    message: str

    def to_row(self) -> dict[str, Any]:
        """Flat row for JSON and CSV."""
        return {
            "check": self.check,
            "severity": self.severity.value,
            "subject_type": self.subject_type,
            "subject": self.subject,
            "label": self.label,
            "figure": self.figure if math.isfinite(self.figure) else None,
            "threshold": self.threshold,
            "message": self.message,
        }


def label_target_findings(
    labels: Sequence[LabelFigure], thresholds: CheckThresholds
) -> list[Finding]:
    """Labels whose pooled agreement is below their guideline target."""
    findings = []
    for item in labels:
        if not item.below_target or item.figure.n < thresholds.min_comparisons:
            continue
        critical = item.figure.value < item.adjudication_threshold
        findings.append(
            Finding(
                "label_below_target",
                Severity.CRITICAL if critical else Severity.WARNING,
                "label",
                item.label,
                item.label,
                item.figure.value,
                item.target,
                f"{item.label}: {item.figure.metric} {item.figure.value:.2f} over "
                f"{item.figure.tasks} task(s) is below the agreement target {item.target:.2f}"
                + (" and below the adjudication threshold" if critical else "")
                + "; review the guideline's definition and edge cases with the readers",
            )
        )
    return findings


def reader_outlier_findings(
    readers: Sequence[ReaderFigure], thresholds: CheckThresholds
) -> list[Finding]:
    """Readers who agree with the others far less than the others agree among themselves."""
    findings = []
    for row in readers:
        if not row.label:
            continue
        mine, rest = row.agreement, row.rest_agreement
        if min(mine.n, rest.n) < thresholds.min_comparisons:
            continue
        gap = rest.mean - mine.mean
        if gap < thresholds.reader_gap:
            continue
        severity = Severity.CRITICAL if gap >= 2 * thresholds.reader_gap else Severity.WARNING
        findings.append(
            Finding(
                "reader_outlier",
                severity,
                "reader",
                row.reader,
                row.label,
                mine.mean,
                rest.mean - thresholds.reader_gap,
                f"{row.reader} agrees {mine.mean:.2f} on average with the others on "
                f"{row.label}, while the other readers agree {rest.mean:.2f} among "
                f"themselves (gap {gap:.2f}); look at {row.reader}'s cases together",
            )
        )
    return findings


def cannot_assess_findings(
    readers: Sequence[ReaderFigure], thresholds: CheckThresholds
) -> list[Finding]:
    """Readers who mark 'cannot assess' far more often than their peers."""
    overall = [r for r in readers if not r.label]
    findings = []
    for row in overall:
        if row.annotations < thresholds.min_annotations:
            continue
        peers = [p for p in overall if p.reader != row.reader and p.annotations]
        if not peers:
            continue
        peer_rate = sum(p.cannot_assess for p in peers) / sum(p.annotations for p in peers)
        rate = row.cannot_assess_rate
        limit = max(
            peer_rate + thresholds.cannot_assess_excess,
            peer_rate * thresholds.cannot_assess_ratio,
        )
        if rate < limit:
            continue
        findings.append(
            Finding(
                "cannot_assess",
                Severity.WARNING,
                "reader",
                row.reader,
                "",
                rate,
                limit,
                f"{row.reader} marked {row.cannot_assess} of {row.annotations} annotations "
                f"'cannot assess' ({rate:.0%}) against {peer_rate:.0%} for the other readers; "
                "check image quality of their cases or whether the guideline is clear to them",
            )
        )
    return findings


def robust_z(values: Sequence[float]) -> list[float]:
    """Iglewicz–Hoaglin modified z-scores ``0.6745 (x − median) / MAD``.

    With a MAD of 0 the mean absolute deviation (× 1.2533) stands in; with no
    spread at all, every score is 0.
    """
    data = np.asarray(values, dtype=np.float64)
    median = float(np.median(data))
    mad = float(np.median(np.abs(data - median)))
    if mad > 0:
        return [float(v) for v in 0.6745 * (data - median) / mad]
    mean_ad = float(np.mean(np.abs(data - median)))
    if mean_ad == 0:
        return [0.0] * len(data)
    return [float(v) for v in (data - median) / (1.2533 * mean_ad)]


def _size_of(kind: LabelKind, geometry: dict[str, Any], voxel_mm3: float) -> float | None:
    if kind is LabelKind.MASK:
        voxels = sum(
            sum(rle.get("counts", [])[1::2]) for rle in (geometry.get("slices") or {}).values()
        )
        return math.log(voxels * voxel_mm3) if voxels else None
    length = geometry.get("length_mm")
    return float(length) if isinstance(length, int | float) and length > 0 else None


def implausible_size_findings(data: ProjectData, thresholds: CheckThresholds) -> list[Finding]:
    """Mask volumes and lengths far from the label's others (robust z-score)."""
    findings = []
    for label in data.guideline.labels:
        if label.kind not in (LabelKind.MASK, LabelKind.LENGTH):
            continue
        sized = []
        for annotation in data.annotations:
            if annotation.label != label.name or annotation.cannot_assess:
                continue
            task = data.tasks.get(annotation.task_id)
            voxel = task.voxel_mm3 if task else 1.0
            size = _size_of(label.kind, dict(annotation.geometry), voxel)
            if size is not None:
                sized.append((annotation, size))
        if len(sized) < thresholds.min_annotations:
            continue
        scores = robust_z([s for _, s in sized])
        for (annotation, size), z in zip(sized, scores, strict=True):
            if abs(z) < thresholds.robust_z:
                continue
            shown = (
                f"{math.exp(size):.0f} mm³" if label.kind is LabelKind.MASK else f"{size:.1f} mm"
            )
            findings.append(
                Finding(
                    "implausible_size",
                    Severity.WARNING,
                    "annotation",
                    str(annotation.annotation_id),
                    label.name,
                    z,
                    thresholds.robust_z,
                    f"{label.name} by {annotation.reader} in task {annotation.task_id} measures "
                    f"{shown}, {'far above' if z > 0 else 'far below'} the label's other "
                    f"annotations (robust z {z:.1f}); check it was drawn on the right structure",
                )
            )
    return findings


def stuck_adjudication_findings(
    data: ProjectData, now: datetime, thresholds: CheckThresholds
) -> list[Finding]:
    """Tasks waiting in adjudication for ``stuck_days`` or longer."""
    findings = []
    for task in data.tasks.values():
        if task.status != "adjudication" or task.completed_at is None:
            continue
        days = (now - task.completed_at).total_seconds() / 86400.0
        if days < thresholds.stuck_days:
            continue
        severity = Severity.CRITICAL if days >= 4 * thresholds.stuck_days else Severity.WARNING
        findings.append(
            Finding(
                "stuck_adjudication",
                severity,
                "task",
                str(task.id),
                "",
                days,
                thresholds.stuck_days,
                f"task {task.id} has waited {days:.0f} days in the adjudication queue; assign "
                "an adjudicator",
            )
        )
    return findings


def low_confidence_findings(data: ProjectData, thresholds: CheckThresholds) -> list[Finding]:
    """Tasks where every reader was unsure of a label, and labels readers are often unsure of."""
    low = low_confidence_level(data.guideline.confidence)
    findings = []
    for label in data.guideline.labels:
        rated = [a for a in data.annotations if a.label == label.name and a.confidence is not None]
        by_task: dict[int, dict[str, int | None]] = {}
        for a in rated:
            by_task.setdefault(a.task_id, {})[a.reader] = a.confidence
        for task in data.tasks.values():
            if task.status == "open" or len(task.readers) < 2:
                continue
            levels = by_task.get(task.id, {})
            if set(levels) >= set(task.readers) and all(
                c is not None and c <= low for c in levels.values()
            ):
                worst = float(max(c for c in levels.values() if c is not None))
                findings.append(
                    Finding(
                        "low_confidence",
                        Severity.INFO,
                        "task",
                        str(task.id),
                        label.name,
                        worst,
                        float(low),
                        f"every reader of task {task.id} gave {label.name} low confidence "
                        f"(at most {worst:.0f}); a candidate for adjudication or teaching",
                    )
                )
        if len(rated) < thresholds.min_annotations:
            continue
        share = sum(1 for a in rated if (a.confidence or 0) <= low) / len(rated)
        if share >= thresholds.low_confidence_share:
            findings.append(
                Finding(
                    "low_confidence",
                    Severity.WARNING,
                    "label",
                    label.name,
                    label.name,
                    share,
                    thresholds.low_confidence_share,
                    f"{share:.0%} of {label.name} annotations carry low confidence "
                    f"(≤ {low}); the guideline may need clearer criteria or examples",
                )
            )
    return findings


def drift_findings(report: DriftReport) -> list[Finding]:
    """The drift flags of each label's latest window, as findings."""
    return [
        Finding(
            "drift",
            Severity.WARNING,
            "label",
            flag.label,
            flag.label,
            flag.value,
            flag.reference,
            flag.message,
        )
        for flag in report.flags
    ]


def run_checks(
    data: ProjectData,
    labels: Sequence[LabelFigure],
    readers: Sequence[ReaderFigure],
    report: DriftReport,
    now: datetime,
    thresholds: CheckThresholds | None = None,
) -> list[Finding]:
    """Every check, most severe first."""
    thresholds = thresholds or CheckThresholds()
    findings = [
        *label_target_findings(labels, thresholds),
        *reader_outlier_findings(readers, thresholds),
        *cannot_assess_findings(readers, thresholds),
        *implausible_size_findings(data, thresholds),
        *stuck_adjudication_findings(data, now, thresholds),
        *low_confidence_findings(data, thresholds),
        *drift_findings(report),
    ]
    findings.sort(key=lambda f: (_RANK[f.severity], f.check, f.subject))
    return findings
