"""Each automated check fires on a constructed case and stays quiet otherwise."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest

from node.quality import (
    CheckThresholds,
    ProjectData,
    Severity,
    build_report,
    label_figures,
    reader_figures,
)
from node.quality.checks import (
    cannot_assess_findings,
    implausible_size_findings,
    label_target_findings,
    low_confidence_findings,
    reader_outlier_findings,
    robust_z,
    stuck_adjudication_findings,
)
from shared.formats.rle import rle_encode
from shared.schemas import Guideline
from tests.unit.node.quality.conftest import T0, annotation, disc, pair, project, task

LIMITS = CheckThresholds()
TRIO = ("alice", "bob", "carol")


def _trio(guideline: Guideline, carol: float, others: float = 0.9) -> ProjectData:
    results = []
    for t in range(1, 5):
        results += [
            pair(t, "nodule-mask", "mask", others, ("alice", "bob"), voxels_a=100, voxels_b=100),
            pair(t, "nodule-mask", "mask", carol, ("alice", "carol"), voxels_a=100, voxels_b=90),
            pair(t, "nodule-mask", "mask", carol, ("carol", "bob"), voxels_a=90, voxels_b=100),
        ]
    return project(guideline, tasks={t: task(t, TRIO) for t in range(1, 5)}, pairs=tuple(results))


def test_reader_outlier(guideline: Guideline) -> None:
    findings = reader_outlier_findings(reader_figures(_trio(guideline, carol=0.5)), LIMITS)
    assert [(f.subject, f.label, f.severity) for f in findings] == [
        ("carol", "nodule-mask", Severity.CRITICAL)
    ]
    assert findings[0].figure == pytest.approx(0.5)
    assert "carol agrees 0.50" in findings[0].message
    mild = reader_outlier_findings(reader_figures(_trio(guideline, carol=0.72)), LIMITS)
    assert [f.severity for f in mild] == [Severity.WARNING]
    assert reader_outlier_findings(reader_figures(_trio(guideline, carol=0.85)), LIMITS) == []


def test_label_below_target(guideline: Guideline) -> None:
    low = label_target_findings(label_figures(_trio(guideline, carol=0.5, others=0.6)), LIMITS)
    assert [(f.subject, f.severity) for f in low] == [("nodule-mask", Severity.CRITICAL)]
    assert low[0].threshold == 0.8  # the guideline's agreement_target
    near = label_target_findings(label_figures(_trio(guideline, carol=0.75, others=0.78)), LIMITS)
    assert [f.severity for f in near] == [Severity.WARNING]
    assert label_target_findings(label_figures(_trio(guideline, carol=0.9)), LIMITS) == []


def _rads_annotations(cannot: dict[str, int], total: int = 10) -> tuple[Any, ...]:
    rows = []
    next_id = 1
    for reader in TRIO:
        for i in range(total):
            unsure = i < cannot.get(reader, 0)
            rows.append(
                annotation(
                    next_id,
                    i + 1,
                    reader,
                    "lung-rads",
                    "classification",
                    None if unsure else {"value": "2"},
                    cannot_assess=unsure,
                )
            )
            next_id += 1
    return tuple(rows)


def test_cannot_assess_rate(guideline: Guideline) -> None:
    heavy = project(guideline, annotations=_rads_annotations({"carol": 5, "alice": 1}))
    findings = cannot_assess_findings(reader_figures(heavy), LIMITS)
    assert [(f.subject, f.figure) for f in findings] == [("carol", 0.5)]
    assert "5 of 10" in findings[0].message
    usual = project(guideline, annotations=_rads_annotations({"carol": 1, "alice": 1}))
    assert cannot_assess_findings(reader_figures(usual), LIMITS) == []


def _mask(annotation_id: int, task_id: int, radius: float) -> Any:
    rle = dict(rle_encode(disc(32, 32, radius)))
    return annotation(
        annotation_id, task_id, "alice", "nodule-mask", "mask", {"slices": {"1": rle}}
    )


def test_implausible_mask_volume(guideline: Guideline) -> None:
    radii = [6, 6.5, 7, 7.5, 6, 7, 30]
    data = project(
        guideline,
        tasks={i: task(i) for i in range(len(radii))},
        annotations=tuple(_mask(i + 1, i, r) for i, r in enumerate(radii)),
    )
    findings = implausible_size_findings(data, LIMITS)
    assert [f.subject for f in findings] == ["7"]
    assert findings[0].figure > LIMITS.robust_z and "far above" in findings[0].message
    calm = project(
        guideline,
        tasks={i: task(i) for i in range(6)},
        annotations=tuple(_mask(i + 1, i, r) for i, r in enumerate(radii[:6])),
    )
    assert implausible_size_findings(calm, LIMITS) == []


def test_implausible_length(guideline: Guideline) -> None:
    lengths = [8.0, 9.0, 8.5, 10.0, 9.5, 0.4]
    rows = tuple(
        annotation(
            i + 1,
            i,
            "bob",
            "nodule-diameter",
            "length",
            {"slice": 0, "x0": 0, "y0": 0, "x1": 1, "y1": 1, "length_mm": v},
        )
        for i, v in enumerate(lengths)
    )
    findings = implausible_size_findings(project(guideline, annotations=rows), LIMITS)
    assert [f.subject for f in findings] == ["6"] and "far below" in findings[0].message


def test_robust_z_without_spread() -> None:
    assert robust_z([1.0, 1.0, 1.0]) == [0.0, 0.0, 0.0]
    z = robust_z([1.0, 1.0, 1.0, 1.0, 9.0])
    assert z[-1] > 3.5 and z[0] == 0.0


def test_stuck_in_adjudication(guideline: Guideline) -> None:
    data = project(
        guideline,
        tasks={
            1: task(1, status="adjudication", completed_at=T0),
            2: task(2, status="adjudication", completed_at=T0 + timedelta(days=25)),
            3: task(3, status="consensus", completed_at=T0),
        },
    )
    now = T0 + timedelta(days=30)
    findings = stuck_adjudication_findings(data, now, LIMITS)
    assert [(f.subject, f.severity) for f in findings] == [("1", Severity.CRITICAL)]
    week = stuck_adjudication_findings(data, T0 + timedelta(days=8), LIMITS)
    assert [(f.subject, f.severity) for f in week] == [("1", Severity.WARNING)]
    assert stuck_adjudication_findings(data, T0 + timedelta(days=2), LIMITS) == []


def test_low_confidence_clusters(guideline: Guideline) -> None:
    def rads(aid: int, task_id: int, reader: str, confidence: int) -> Any:
        return annotation(
            aid,
            task_id,
            reader,
            "lung-rads",
            "classification",
            {"value": "2"},
            confidence=confidence,
        )

    unsure_task = project(
        guideline,
        tasks={1: task(1), 2: task(2)},
        annotations=(
            rads(1, 1, "alice", 1),
            rads(2, 1, "bob", 2),
            rads(3, 2, "alice", 5),
            rads(4, 2, "bob", 2),
        ),
    )
    findings = low_confidence_findings(unsure_task, LIMITS)
    assert [(f.subject_type, f.subject, f.severity) for f in findings] == [
        ("task", "1", Severity.INFO)
    ]
    many = project(
        guideline,
        tasks={i: task(i) for i in range(1, 4)},
        annotations=tuple(
            rads(i, 1 + i % 3, "alice" if i % 2 else "bob", 1 if i < 4 else 5) for i in range(8)
        ),
    )
    label_level = [f for f in low_confidence_findings(many, LIMITS) if f.subject_type == "label"]
    assert [(f.subject, f.severity) for f in label_level] == [("lung-rads", Severity.WARNING)]
    confident = project(
        guideline,
        tasks={1: task(1)},
        annotations=(rads(1, 1, "alice", 4), rads(2, 1, "bob", 5)),
    )
    assert low_confidence_findings(confident, LIMITS) == []


def test_report_sorts_findings_most_severe_first(guideline: Guideline) -> None:
    data = _trio(guideline, carol=0.5, others=0.7)
    report = build_report(data, T0 + timedelta(days=1))
    ranks = [f.severity for f in report.findings]
    assert ranks == sorted(ranks, key=[Severity.CRITICAL, Severity.WARNING, Severity.INFO].index)
    assert {f.check for f in report.findings} >= {"reader_outlier", "label_below_target", "drift"}
    assert all(not math.isnan(f.threshold) for f in report.findings)


def test_pairs_where_nobody_marked_anything_do_not_count_for_readers(
    guideline: Guideline,
) -> None:
    data = _trio(guideline, carol=0.5)
    empty = tuple(
        pair(t, "nodule-box", "box", 1.0, readers, matched=0, n_a=0, n_b=0)
        for t in range(1, 5)
        for readers in (("alice", "bob"), ("alice", "carol"), ("bob", "carol"))
    )
    padded = type(data)(
        name=data.name,
        guideline=data.guideline,
        guidelines=data.guidelines,
        tasks=data.tasks,
        pairs=data.pairs + empty,
    )
    rows = {(r.reader, r.label): r for r in reader_figures(padded)}
    assert rows[("carol", "")].agreement.mean == pytest.approx(0.5)
    assert rows[("carol", "nodule-box")].agreement.n == 0
