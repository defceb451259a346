"""Pooled figures equal the figures computed over the union of the tasks' items."""

from __future__ import annotations

import numpy as np
import pytest

from node.quality import (
    LabelPool,
    Moments,
    ProjectData,
    label_figures,
    pair_figures,
    pool_label,
    version_figures,
)
from shared.agreement import cohen_kappa, dice, krippendorff_alpha
from shared.schemas import Guideline
from tests.unit.node.quality.conftest import disc, pair

RADS = ("0", "1", "2", "3", "4A", "4B", "4X")


def test_pair_kappa_pools_to_kappa_over_all_items(guideline: Guideline) -> None:
    label = guideline.label("lung-rads")
    assert label is not None
    a = ["1", "2", "2", "3", "4A", "4A", "1", "2"]
    b = ["1", "2", "3", "3", "4A", "4B", "2", "2"]
    # Every other task stores the pair the other way round: orientation must not matter.
    results = [
        pair(i, "lung-rads", "classification", float(x == y), a=x, b=y)
        if i % 2
        else pair(i, "lung-rads", "classification", float(x == y), ("bob", "alice"), a=y, b=x)
        for i, (x, y) in enumerate(zip(a, b, strict=True))
    ]
    figure = pool_label(label, results).figure(pairwise=True)
    expected = cohen_kappa(a, b, "linear", categories=RADS)
    assert figure.metric == "kappa"
    assert figure.value == pytest.approx(expected.value)
    assert figure.extra["kappa_se"] == pytest.approx(expected.se)
    assert figure.extra["percent_agreement"] == pytest.approx(5 / 8)
    assert figure.n == 8 and figure.tasks == 8


def test_label_alpha_pools_to_alpha_over_all_tasks(guideline: Guideline) -> None:
    label = guideline.label("lung-rads")
    assert label is not None
    ratings = {  # task -> alice, bob, carol (None: cannot assess)
        1: ("1", "1", "2"),
        2: ("3", "3", "3"),
        3: ("4A", None, "4B"),
        4: ("2", "1", "2"),
        5: ("4B", "4B", "4X"),
    }
    results = []
    readers = ("alice", "bob", "carol")
    for task_id, values in ratings.items():
        for i in range(3):
            for j in range(i + 1, 3):
                va, vb = values[i], values[j]
                results.append(
                    pair(
                        task_id,
                        "lung-rads",
                        "classification",
                        float(va == vb),
                        (readers[i], readers[j]),
                        a=va,
                        b=vb,
                    )
                )
    figure = pool_label(label, results).figure()
    data = np.array(
        [[np.nan if v is None else RADS.index(v) for v in ratings[t]] for t in ratings]
    ).T
    expected = krippendorff_alpha(data, "ordinal", value_domain=list(range(len(RADS))))
    assert figure.metric == "alpha"
    assert figure.value == pytest.approx(expected.value)


def test_pooled_dice_is_dice_of_the_union(guideline: Guideline) -> None:
    label = guideline.label("nodule-mask")
    assert label is not None
    cases = [
        (disc(30, 30, 10), disc(32, 30, 10)),
        (disc(20, 20, 4), disc(26, 20, 5)),
        (np.zeros((64, 64), bool), np.zeros((64, 64), bool)),
        (disc(40, 40, 15), disc(40, 41, 14)),
    ]
    results = [
        pair(
            i,
            "nodule-mask",
            "mask",
            dice(a, b),
            voxels_a=int(a.sum()),
            voxels_b=int(b.sum()),
        )
        for i, (a, b) in enumerate(cases)
    ]
    pooled = sum((LabelPool.of_task(label, [r]) for r in results), LabelPool(label))
    figure = pooled.figure()
    union_a = np.concatenate([a for a, _ in cases])
    union_b = np.concatenate([b for _, b in cases])
    assert figure.value == pytest.approx(dice(union_a, union_b))
    assert figure.extra["mean_dice"] == pytest.approx(np.mean([r.value for r in results]))
    assert figure.extra["both_empty"] == 1
    assert pool_label(label, results).figure() == figure


def test_pooled_f1_counts_matches(guideline: Guideline) -> None:
    label = guideline.label("nodule-box")
    assert label is not None
    counts = [(2, 2, 2), (1, 3, 1), (0, 1, 0), (0, 0, 0)]  # matched, n_a, n_b
    results = [
        pair(
            i,
            "nodule-box",
            "box",
            1.0 if n_a + n_b == 0 else 2 * m / (n_a + n_b),
            matched=m,
            n_a=n_a,
            n_b=n_b,
            mean_iou=0.8 if m else None,
        )
        for i, (m, n_a, n_b) in enumerate(counts)
    ]
    figure = pool_label(label, results).figure()
    assert figure.metric == "pooled_f1"
    assert figure.value == pytest.approx(2 * 3 / (6 + 3))
    assert figure.extra["mean_matched_iou"] == pytest.approx(0.8)


def test_empty_label_is_undefined_not_an_error(guideline: Guideline) -> None:
    for name in ("lung-rads", "nodule-mask", "nodule-box"):
        label = guideline.label(name)
        assert label is not None
        figure = pool_label(label, []).figure()
        assert np.isnan(figure.value) and figure.n == 0 and figure.note


def test_moments_add_exactly() -> None:
    one, two = Moments.of([0.2, 0.4]), Moments.of([0.9])
    both = one + two
    assert both == Moments.of([0.2, 0.4, 0.9])
    assert both.mean == pytest.approx(0.5)
    assert both.se == pytest.approx(np.std([0.2, 0.4, 0.9], ddof=1) / np.sqrt(3))
    assert sum([one, two]) == both


def test_figures_per_guideline_version_and_pair(guideline: Guideline) -> None:
    revised = guideline.model_copy(update={"version": "2.0"})
    results = (
        pair(1, "nodule-mask", "mask", 0.5, voxels_a=100, voxels_b=100),
        pair(
            2,
            "nodule-mask",
            "mask",
            0.9,
            ("bob", "carol"),
            version="lung-nodule@2.0",
            voxels_a=100,
            voxels_b=100,
        ),
    )
    data = ProjectData(
        name="lung",
        guideline=revised,
        guidelines={"lung-nodule@1.0": guideline, "lung-nodule@2.0": revised},
        pairs=results,
    )
    versions = {(f.guideline_version, f.label): f.figure.value for f in version_figures(data)}
    assert versions == {
        ("lung-nodule@1.0", "nodule-mask"): pytest.approx(0.5),
        ("lung-nodule@2.0", "nodule-mask"): pytest.approx(0.9),
    }
    overall = next(f for f in label_figures(data) if f.label == "nodule-mask")
    assert overall.figure.value == pytest.approx(0.7) and overall.figure.tasks == 2
    pairs = {(f.reader_a, f.reader_b): f.figure.value for f in pair_figures(data)}
    assert pairs == {("alice", "bob"): pytest.approx(0.5), ("bob", "carol"): pytest.approx(0.9)}


def test_one_pass_pooling_equals_the_sum_of_per_task_statistics(guideline: Guideline) -> None:
    rads, box = guideline.label("lung-rads"), guideline.label("nodule-box")
    assert rads is not None and box is not None
    trio = (("alice", "bob"), ("carol", "alice"), ("bob", "carol"))
    values = {1: ("1", "2", "2"), 2: ("3", "3", None), 3: ("4A", "4B", "4A")}
    category = []
    for t, (va, vb, vc) in values.items():
        by = {"alice": va, "bob": vb, "carol": vc}
        category += [
            pair(t, "lung-rads", "classification", float(by[a] == by[b]), (a, b), a=by[a], b=by[b])
            for a, b in trio
        ]
    objects = [
        pair(t, "nodule-box", "box", 0.5, ab, matched=1, n_a=1 + t, n_b=1, mean_iou=0.6)
        for t in (1, 2)
        for ab in trio
    ]
    for label, results in ((rads, category), (box, objects)):
        by_task: dict[int, list] = {}
        for r in results:
            by_task.setdefault(r.task_id, []).append(r)
        summed = sum((LabelPool.of_task(label, g) for g in by_task.values()), LabelPool(label))
        bulk = pool_label(label, results)
        assert bulk.confusion == summed.confusion
        if bulk.detection is not None:  # integer counts exact; float sums up to rounding
            assert summed.detection is not None
            for key in ("n_cases", "n_a", "n_b", "n_matched"):
                assert getattr(bulk.detection, key) == getattr(summed.detection, key)
            for key in ("score_sum", "case_f1_sum"):
                assert getattr(bulk.detection, key) == pytest.approx(getattr(summed.detection, key))
        assert bulk.tasks == summed.tasks and bulk.moments == summed.moments
        assert bulk.figure().value == pytest.approx(summed.figure().value)
        assert bulk.figure().extra == pytest.approx(summed.figure().extra)
        if bulk.coincidence is not None:
            assert summed.coincidence is not None
            assert np.allclose(bulk.coincidence.coincidences, summed.coincidence.coincidences)
