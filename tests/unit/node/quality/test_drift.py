"""Drift windows and flags: below target, significant drops, quiet when stable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from node.quality import DriftSettings, Period, drift
from node.quality.drift import window_of
from shared.schemas import Guideline
from tests.unit.node.quality.conftest import T0, pair, project

OCT = datetime(2026, 10, 5, tzinfo=UTC)
NOV = datetime(2026, 11, 9, tzinfo=UTC)


def _mask_pairs(values: list[float], at: datetime, first_task: int) -> list:
    return [
        pair(
            first_task + i,
            "nodule-mask",
            "mask",
            v,
            at=at + timedelta(hours=i),
            voxels_a=100,
            voxels_b=100,
        )
        for i, v in enumerate(values)
    ]


def test_windows_are_iso_weeks_and_calendar_months() -> None:
    sunday = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    assert window_of(sunday, Period.WEEK) == ("2026-W48", sunday.date() - timedelta(days=6))
    assert window_of(sunday, Period.MONTH)[0] == "2026-11"
    assert window_of(datetime(2027, 1, 1, tzinfo=UTC), Period.WEEK)[0] == "2026-W53"


def test_points_pool_each_window(guideline: Guideline) -> None:
    data = project(
        guideline, pairs=(*_mask_pairs([0.9, 0.8], OCT, 1), *_mask_pairs([0.7], NOV, 10))
    )
    report = drift(data)
    points = [p for p in report.points if p.label == "nodule-mask"]
    assert [p.window for p in points] == ["2026-10", "2026-11"]
    assert points[0].figure.value == pytest.approx(0.85)
    assert points[0].figure.n == 2 and points[1].figure.n == 1
    weekly = drift(data, DriftSettings(period=Period.WEEK))
    assert {p.window for p in weekly.points} == {"2026-W41", "2026-W46"}


def test_significant_drop_is_flagged(guideline: Guideline) -> None:
    before = _mask_pairs([0.90, 0.92, 0.88, 0.91, 0.89], OCT, 1)
    after = _mask_pairs([0.70, 0.74, 0.66, 0.72, 0.68], NOV, 10)
    report = drift(project(guideline, pairs=(*before, *after)))
    reasons = {(f.label, f.reason) for f in report.flags}
    assert ("nodule-mask", "significant_drop") in reasons
    assert ("nodule-mask", "below_target") in reasons  # 0.70 < 0.8
    flag = next(f for f in report.flags if f.reason == "significant_drop")
    assert flag.window == "2026-11" and flag.z is not None and flag.z > 1.645
    assert "fell from 0.90 (2026-10) to 0.70 (2026-11)" in flag.message


def test_stable_or_small_windows_stay_quiet(guideline: Guideline) -> None:
    before = _mask_pairs([0.90, 0.92, 0.88], OCT, 1)
    after = _mask_pairs([0.89, 0.93, 0.87], NOV, 10)
    assert drift(project(guideline, pairs=(*before, *after))).flags == ()
    # A big drop on too few comparisons is not called significant.
    few = drift(
        project(guideline, pairs=(*before, *_mask_pairs([0.85, 0.84], NOV, 10))),
        DriftSettings(min_cases=3),
    )
    assert few.flags == ()
    # A noisy, small drop is not significant either.
    noisy = drift(
        project(
            guideline,
            pairs=(
                *_mask_pairs([1.0, 0.76, 1.0, 0.76], OCT, 1),
                *_mask_pairs([0.94, 0.70, 0.94, 0.70], NOV, 10),
            ),
        )
    )
    assert noisy.flags == ()


def test_no_figures_no_points(guideline: Guideline) -> None:
    assert drift(project(guideline)).points == ()
    assert drift(project(guideline, pairs=tuple(_mask_pairs([0.9], T0, 1)))).flags == ()
