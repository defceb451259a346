"""Mask and detection statistics with a bounded contribution per task (for noised releases)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.quality import PairResult
from node.stats import DISTANCE_BOUND_MM, UNIT, bounded_detection, bounded_overlap
from node.stats.bounded import bounded_plan, repair_detection

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def _mask(task: int, a: str, b: str, dice: float, va: int, vb: int) -> PairResult:
    detail = {"voxels_a": va, "voxels_b": vb}
    return PairResult(task, 1, "m", "mask", "dice", dice, a, b, detail, "g@1", NOW)


def _box(task: int, a: str, b: str, f1: float, na: int, nb: int, m: int, s: float) -> PairResult:
    detail = {"n_a": na, "n_b": nb, "matched": m, "mean_iou": s, "mean_distance_mm": s}
    return PairResult(task, 1, "b", "box", "f1", f1, a, b, detail, "g@1", NOW)


def test_one_task_adds_at_most_one_unit_per_field_whatever_its_size() -> None:
    small = bounded_overlap([_mask(1, "r1", "r2", 0.5, 10, 30)])
    huge = bounded_overlap([_mask(1, "r1", "r2", 0.5, 10**9, 3 * 10**9)])
    for stats in (small, huge):
        assert stats.n_cases == 1
        assert int(stats.size_b[0]) == UNIT  # the larger mask is one unit
        assert int(stats.size_a[0]) == round(UNIT / 3)
        assert 2 * stats.intersection[0] / (stats.size_a[0] + stats.size_b[0]) == (
            pytest.approx(0.5, abs=2 / UNIT)
        )
    assert small.to_arrays().keys() == huge.to_arrays().keys()


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 10**7), st.integers(0, 10**7)),
        min_size=1,
        max_size=6,
    )
)
def test_adding_a_task_moves_every_overlap_field_by_at_most_its_bound(
    pairs: list[tuple[float, int, int]],
) -> None:
    base = [_mask(1, "r1", "r2", 0.7, 100, 120)]
    extra = [_mask(2, f"r{i}", f"r{i + 1}", d, a, b) for i, (d, a, b) in enumerate(pairs)]
    before, after = bounded_overlap(base).to_arrays(), bounded_overlap(base + extra).to_arrays()
    bounds = {name: plan.sensitivity / np.sqrt(7) for name, plan in bounded_plan("overlap").items()}
    for name, bound in bounds.items():
        change = np.asarray(after[name], dtype=float) - np.asarray(before[name], dtype=float)
        assert np.sqrt((change**2).sum()) <= bound + 1e-9, name


def test_detection_is_normalised_per_pair_and_distances_are_clipped() -> None:
    stats = bounded_detection([_box(1, "r1", "r2", 0.8, 40, 50, 40, 0.6)], "iou")
    assert (stats.n_cases, stats.n_b, stats.n_a, stats.n_matched) == (
        1,
        UNIT,
        round(0.8 * UNIT),
        round(0.8 * UNIT),
    )
    assert stats.score_sum == pytest.approx(0.8 * 0.6)
    far = bounded_detection([_box(1, "r1", "r2", 1.0, 1, 1, 1, 500.0)], "distance_mm")
    assert far.score_sum == DISTANCE_BOUND_MM
    plan = bounded_plan("detection", "distance_mm")
    assert plan["score_sum"].sensitivity == np.sqrt(6) * DISTANCE_BOUND_MM
    assert sorted(plan) == ["case_f1_sum", "n_a", "n_b", "n_cases", "n_matched", "score_sum"]


def test_noised_detection_counts_are_made_consistent() -> None:
    arrays = {"n_a": np.asarray(3), "n_b": np.asarray(5), "n_matched": np.asarray(9)}
    repaired = repair_detection(arrays)
    assert int(repaired["n_matched"]) == 3 and repaired["n_matched"].shape == ()
