"""Contract suite run against every summable statistics type, plus pooling properties.

Every type must: add to the statistics of the pooled data, round-trip through plain
numpy arrays, start a ``sum()`` from 0, refuse to add across mismatched categories or
bins with IncompatibleStatsError, and refuse other types.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.agreement import (
    CategoryCountStats,
    CoincidenceStats,
    ConfusionStats,
    ContinuousStats,
    DetectionStats,
    DistanceHistogramStats,
    IncompatibleStatsError,
    OverlapStats,
    cohen_kappa,
    dice,
    fleiss_kappa,
    icc,
    iou,
    krippendorff_alpha,
    match_boxes,
    match_keypoints,
)

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Case:
    """Two sites' statistics, the statistics of their union, and an incompatible one."""

    name: str
    build: Callable[[np.random.Generator], tuple[Any, Any, Any]]
    incompatible: Callable[[], tuple[Any, Any]]
    exact: bool


def _labels(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    a = rng.integers(0, 3, n)
    return a, np.where(rng.random(n) < 0.6, a, rng.integers(0, 3, n))


def _confusion(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    (a1, b1), (a2, b2) = _labels(rng, 30), _labels(rng, 20)
    cats = [0, 1, 2]
    return (
        ConfusionStats.from_labels(a1, b1, cats),
        ConfusionStats.from_labels(a2, b2, cats),
        ConfusionStats.from_labels(np.r_[a1, a2], np.r_[b1, b2], cats),
    )


def _counts(rng: np.random.Generator, n: int) -> np.ndarray:
    ratings = rng.integers(0, 3, (n, 4))
    return np.stack([(ratings == c).sum(axis=1) for c in range(3)], axis=1)


def _category(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    c1, c2 = _counts(rng, 12), _counts(rng, 9)
    return (
        CategoryCountStats.from_counts(c1),
        CategoryCountStats.from_counts(c2),
        CategoryCountStats.from_counts(np.vstack([c1, c2])),
    )


def _reliability(rng: np.random.Generator, n: int) -> np.ndarray:
    data = rng.integers(1, 5, (3, n)).astype(float)
    data[rng.random(data.shape) < 0.2] = np.nan
    return data


def _coincidence(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    d1, d2 = _reliability(rng, 15), _reliability(rng, 10)
    dom = [1, 2, 3, 4]
    return (
        CoincidenceStats.from_reliability_data(d1, dom),
        CoincidenceStats.from_reliability_data(d2, dom),
        CoincidenceStats.from_reliability_data(np.hstack([d1, d2]), dom),
    )


def _maps(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    a = rng.integers(0, 3, (8, 8))
    return a, np.where(rng.random((8, 8)) < 0.8, a, rng.integers(0, 3, (8, 8)))


def _overlap(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    (a1, b1), (a2, b2) = _maps(rng), _maps(rng)
    s1 = OverlapStats.from_label_maps(a1, b1, [1, 2])
    s2 = OverlapStats.from_label_maps(a2, b2, [1, 2])
    union = sum([OverlapStats.from_label_maps(a, b, [1, 2]) for a, b in ((a1, b1), (a2, b2))])
    return s1, s2, union


def _distance(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    (a1, b1), (a2, b2) = _maps(rng), _maps(rng)
    s1 = DistanceHistogramStats.from_label_maps(a1, b1, [1, 2], (1.0, 0.5), bin_width_mm=0.25)
    s2 = DistanceHistogramStats.from_label_maps(a2, b2, [1, 2], (1.0, 0.5), bin_width_mm=0.25)
    return s1, s2, sum([s1, s2])


def _detection(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    def case() -> DetectionStats:
        lo = rng.uniform(0, 50, (4, 2))
        boxes = np.hstack([lo, lo + 10])
        moved = boxes + rng.normal(0, 2, boxes.shape)
        moved[:, 2:] = np.maximum(moved[:, 2:], moved[:, :2] + 1)
        return DetectionStats.from_match(match_boxes(boxes, moved[: rng.integers(1, 5)]))

    s1, s2 = case(), case()
    return s1, s2, sum([s1, s2])


def _continuous(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    x1, x2 = rng.normal(10, 2, (8, 3)), rng.normal(10, 2, (6, 3))
    return (
        ContinuousStats.from_ratings(x1),
        ContinuousStats.from_ratings(x2),
        ContinuousStats.from_ratings(np.vstack([x1, x2])),
    )


def _one_case_overlap(n_bins: int) -> OverlapStats:
    return OverlapStats.from_masks(np.eye(3, dtype=bool), np.eye(3, dtype=bool), n_bins=n_bins)


def _one_case_distance(width: float) -> DistanceHistogramStats:
    return DistanceHistogramStats.from_masks(
        np.eye(4, dtype=bool), np.eye(4, dtype=bool), bin_width_mm=width
    )


CASES = [
    Case(
        "confusion",
        _confusion,
        lambda: (
            ConfusionStats.from_labels([0, 1], [0, 1], [0, 1]),
            ConfusionStats.from_labels([0, 1], [0, 1], [0, 1, 2]),
        ),
        exact=True,
    ),
    Case(
        "category_counts",
        _category,
        lambda: (
            CategoryCountStats.from_counts([[1, 2]]),
            CategoryCountStats.from_counts([[1, 3]]),
        ),
        exact=True,
    ),
    Case(
        "coincidence",
        _coincidence,
        lambda: (
            CoincidenceStats.from_reliability_data([[1, 2], [1, 2]], [1, 2]),
            CoincidenceStats.from_reliability_data([[1, 2], [1, 2]], [1, 2, 3]),
        ),
        exact=False,
    ),
    Case(
        "overlap",
        _overlap,
        lambda: (_one_case_overlap(10), _one_case_overlap(20)),
        exact=False,
    ),
    Case(
        "distance",
        _distance,
        lambda: (_one_case_distance(0.5), _one_case_distance(1.0)),
        exact=False,
    ),
    Case(
        "detection",
        _detection,
        lambda: (
            DetectionStats.from_match(match_boxes([[0, 0, 1, 1]], [[0, 0, 1, 1]])),
            DetectionStats.from_match(match_keypoints([[0, 0]], [[0, 0]], None, 1.0)),
        ),
        exact=False,
    ),
    Case(
        "continuous",
        _continuous,
        lambda: (
            ContinuousStats.from_ratings(np.ones((2, 2))),
            ContinuousStats.from_ratings(np.ones((2, 3))),
        ),
        exact=False,
    ),
]


def _assert_same(x: Any, y: Any, exact: bool) -> None:
    ax, ay = x.to_arrays(), y.to_arrays()
    assert ax.keys() == ay.keys()
    for key in ax:
        if exact or ax[key].dtype.kind not in "fc":
            np.testing.assert_array_equal(ax[key], ay[key], err_msg=key)
        else:
            np.testing.assert_allclose(ax[key], ay[key], rtol=1e-12, atol=1e-12, err_msg=key)


@pytest.fixture(params=CASES, ids=lambda c: c.name)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


def test_sum_of_sites_equals_union(case: Case) -> None:
    s1, s2, union = case.build(np.random.default_rng(0))
    _assert_same(s1 + s2, union, case.exact)
    if case.exact:
        assert s1 + s2 == union


def test_round_trip_through_plain_arrays(case: Case) -> None:
    s1, _, _ = case.build(np.random.default_rng(1))
    arrays = s1.to_arrays()
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    assert all(v.dtype != object for v in arrays.values())
    again = type(s1).from_arrays(arrays)
    assert again == s1


def test_sum_builtin_starts_from_zero(case: Case) -> None:
    s1, s2, _ = case.build(np.random.default_rng(2))
    assert sum([s1, s2]) == s1 + s2


def test_mismatched_statistics_refuse_to_add(case: Case) -> None:
    x, y = case.incompatible()
    with pytest.raises(IncompatibleStatsError):
        _ = x + y


def test_other_types_refuse_to_add(case: Case) -> None:
    s1, _, _ = case.build(np.random.default_rng(3))
    with pytest.raises(TypeError):
        _ = s1 + 1.5
    assert (s1 == "something else") is False


# ---- pooled metrics equal metrics of the union (hypothesis) -------------------------------

label_lists = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40)


@FAST
@given(label_lists, label_lists, st.sampled_from([None, "linear", "quadratic"]))
def test_pooled_kappa_equals_union_kappa(
    site_a: list[tuple[int, int]], site_b: list[tuple[int, int]], weights: Any
) -> None:
    cats = [0, 1, 2, 3]
    stats = [
        ConfusionStats.from_labels([p[0] for p in s], [p[1] for p in s], cats)
        for s in (site_a, site_b)
    ]
    both = site_a + site_b
    pooled = (stats[0] + stats[1]).kappa(weights)
    union = cohen_kappa([p[0] for p in both], [p[1] for p in both], weights, categories=cats)
    np.testing.assert_allclose([pooled.value, pooled.se], [union.value, union.se], equal_nan=True)


@FAST
@given(st.integers(1, 10), st.integers(1, 10), st.integers(0, 2**32 - 1))
def test_pooled_fleiss_equals_union(n1: int, n2: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    c1, c2 = _counts(rng, n1), _counts(rng, n2)
    pooled = (CategoryCountStats.from_counts(c1) + CategoryCountStats.from_counts(c2)).kappa()
    union = fleiss_kappa(np.vstack([c1, c2]))
    np.testing.assert_allclose([pooled.value, pooled.se], [union.value, union.se], equal_nan=True)


@FAST
@given(
    st.integers(2, 12),
    st.integers(2, 12),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["nominal", "ordinal", "interval", "ratio"]),
)
def test_pooled_alpha_equals_union(n1: int, n2: int, seed: int, level: Any) -> None:
    rng = np.random.default_rng(seed)
    d1, d2 = _reliability(rng, n1), _reliability(rng, n2)
    dom = [1, 2, 3, 4]
    union_data = np.hstack([d1, d2])
    if np.all((~np.isnan(union_data)).sum(axis=0) < 2):
        return
    pooled = (
        CoincidenceStats.from_reliability_data(d1, dom)
        + CoincidenceStats.from_reliability_data(d2, dom)
    ).alpha(level)
    union = krippendorff_alpha(union_data, level, value_domain=dom, n_boot=0)
    np.testing.assert_allclose(pooled.value, union.value, rtol=1e-10, equal_nan=True)


@FAST
@given(st.integers(0, 2**32 - 1))
def test_pooled_dice_equals_dice_of_concatenated_cases(seed: int) -> None:
    rng = np.random.default_rng(seed)
    masks = [rng.random((2, 6, 6)) < 0.4 for _ in range(3)]
    pooled = sum(OverlapStats.from_masks(m[0], m[1]) for m in masks)
    joined_a = np.concatenate([m[0] for m in masks])
    joined_b = np.concatenate([m[1] for m in masks])
    assert pooled.pooled_dice()[1] == pytest.approx(dice(joined_a, joined_b))
    assert pooled.pooled_iou()[1] == pytest.approx(iou(joined_a, joined_b))
    per_case = [dice(m[0], m[1]) for m in masks]
    assert pooled.mean_dice()[1] == pytest.approx(np.mean(per_case))


@FAST
@given(st.integers(3, 10), st.integers(3, 10), st.integers(0, 2**32 - 1))
def test_pooled_icc_and_bland_altman_equal_union(n1: int, n2: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 1, (n1, 1)) + rng.normal(0, 0.5, (n1, 3))
    x2 = rng.normal(0, 1, (n2, 1)) + rng.normal(0, 0.5, (n2, 3))
    pooled = ContinuousStats.from_ratings(x1) + ContinuousStats.from_ratings(x2)
    union = np.vstack([x1, x2])
    for form in ("1,1", "2,1", "3,1"):
        got, want = pooled.icc(form), icc(union, form)  # type: ignore[arg-type]
        np.testing.assert_allclose(
            [got.value, got.ci_low, got.ci_high],
            [want.value, want.ci_low, want.ci_high],
            rtol=1e-9,
            atol=1e-9,
        )
    ba = pooled.bland_altman(0, 2)
    d = union[:, 2] - union[:, 0]
    assert ba.bias.value == pytest.approx(d.mean())
    assert ba.sd == pytest.approx(d.std(ddof=1))


def test_distance_stats_pooled_values_and_bin_bound() -> None:
    from shared.agreement.surface import directed_surface_distances

    rng = np.random.default_rng(5)
    cases = []
    for _ in range(3):
        a = np.zeros((20, 20), bool)
        b = np.zeros((20, 20), bool)
        x, y = rng.integers(3, 8, 2)
        a[x : x + 8, y : y + 8] = True
        b[x + 1 : x + 10, y - 1 : y + 7] = True
        cases.append((a, b))
    spacing = (0.8, 1.3)
    width = 0.5
    stats = sum(
        DistanceHistogramStats.from_masks(a, b, spacing, bin_width_mm=width) for a, b in cases
    )
    every = np.concatenate(
        [np.concatenate(directed_surface_distances(a, b, spacing)) for a, b in cases]
    )
    assert stats.pooled_assd()[1] == pytest.approx(every.mean())
    assert stats.max_hausdorff()[1] == pytest.approx(every.max())
    approx95 = stats.pooled_percentile(95)[1]
    exact95 = np.percentile(every, 95, method="inverted_cdf")
    assert exact95 <= approx95 <= exact95 + width
    assert stats.arrays["surface_histogram"].sum() == every.size
    assert stats.arrays["measured"][0] == 3


def test_distance_stats_count_empty_cases() -> None:
    empty = np.zeros((5, 5), bool)
    some = np.zeros((5, 5), bool)
    some[1:3, 1:3] = True
    stats = DistanceHistogramStats.from_masks(empty, empty) + DistanceHistogramStats.from_masks(
        some, empty
    )
    assert stats.arrays["both_empty"].tolist() == [1]
    assert stats.arrays["one_empty"].tolist() == [1]
    # No measured case, one case with a single empty mask: inf, as per case.
    assert stats.pooled_assd()[1] == np.inf
    assert stats.pooled_percentile()[1] == np.inf
