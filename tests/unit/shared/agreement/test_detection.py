import numpy as np
import pytest

from shared.agreement import (
    AgreementInputError,
    DetectionStats,
    IncompatibleStatsError,
    SpacingError,
    match_boxes,
    match_keypoints,
    match_polygons,
    polygon_iou,
)
from shared.agreement.detection import box_iou_matrix
from shared.agreement.polygon import polygon_area, polygon_intersection_area


def test_box_iou_2d_and_3d() -> None:
    assert box_iou_matrix([[0, 0, 2, 2]], [[1, 1, 3, 3]])[0, 0] == pytest.approx(1 / 7)
    assert box_iou_matrix([[0, 0, 0, 2, 2, 2]], [[1, 1, 1, 3, 3, 3]])[0, 0] == pytest.approx(1 / 15)


def test_match_boxes_pairs_and_f1() -> None:
    a = [[0, 0, 10, 10], [20, 20, 30, 30]]
    b = [[21, 21, 31, 31], [1, 1, 11, 11], [50, 50, 60, 60]]
    result = match_boxes(a, b, iou_threshold=0.5)
    assert result.pairs.tolist() == [[0, 1], [1, 0]]
    assert result.unmatched_b.tolist() == [2]
    assert result.unmatched_a.tolist() == []
    assert result.f1 == pytest.approx(4 / 5)
    assert np.all(result.scores >= 0.5)


def test_hungarian_maximises_number_of_matches_not_greedy_iou() -> None:
    # Greedy best-IoU would pair a0-b0 (IoU 0.82) and leave a1 without a partner.
    a = [[0, 0, 10, 10], [3, 0, 13, 10]]
    b = [[1, 0, 11, 10], [-3, 0, 7, 10]]
    result = match_boxes(a, b, iou_threshold=0.5)
    assert result.n_matched == 2
    assert result.pairs.tolist() == [[0, 1], [1, 0]]


def test_threshold_and_empty() -> None:
    assert match_boxes([[0, 0, 2, 2]], [[1, 1, 3, 3]], 0.5).n_matched == 0
    assert match_boxes(np.zeros((0, 4)), np.zeros((0, 4))).f1 == 1.0
    assert match_boxes([[0, 0, 1, 1]], np.zeros((0, 4))).f1 == 0.0
    with pytest.raises(AgreementInputError, match="max corner"):
        match_boxes([[2, 2, 0, 0]], [[0, 0, 1, 1]])
    with pytest.raises(AgreementInputError, match="iou_threshold"):
        match_boxes([[0, 0, 1, 1]], [[0, 0, 1, 1]], 0.0)


def test_polygon_iou_exact_for_concave_polygons() -> None:
    square = [[0, 0], [2, 0], [2, 2], [0, 2]]
    assert polygon_iou(square, [[1, 1], [3, 1], [3, 3], [1, 3]]) == pytest.approx(1 / 7)
    ell = [[0, 0], [4, 0], [4, 1], [1, 1], [1, 4], [0, 4]]  # area 7, concave
    big = [[0, 4], [4, 4], [4, 0], [0, 0]]  # clockwise
    assert polygon_area(ell) == pytest.approx(7.0)
    assert polygon_iou(ell, big) == pytest.approx(7 / 16)
    assert polygon_intersection_area(ell, [[2, 2], [5, 2], [5, 5], [2, 5]]) == pytest.approx(0.0)


def _inside(poly: list[list[float]], pts: np.ndarray) -> np.ndarray:
    """Even-odd ray casting, vectorised over points."""
    x, y = pts[:, 0], pts[:, 1]
    inside = np.zeros(len(pts), bool)
    verts = np.asarray(poly, dtype=float)
    for (x0, y0), (x1, y1) in zip(verts, np.roll(verts, -1, axis=0), strict=True):
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (x < x_at)
    return inside


def test_polygon_iou_against_rasterisation() -> None:
    star = [[5, 0], [6, 4], [10, 5], [6, 6], [5, 10], [4, 6], [0, 5], [4, 4]]
    blob = [[2, 2], [9, 1], [8, 8], [5, 6], [1, 9]]
    xs = (np.arange(1000) + 0.5) / 100
    grid = np.stack(np.meshgrid(xs, xs), axis=-1).reshape(-1, 2)
    in_a, in_b = _inside(star, grid), _inside(blob, grid)
    raster = (in_a & in_b).sum() / (in_a | in_b).sum()
    assert polygon_iou(star, blob) == pytest.approx(raster, abs=3e-3)


def test_match_polygons() -> None:
    a = [[[0, 0], [2, 0], [2, 2], [0, 2]], [[10, 10], [12, 10], [11, 12]]]
    b = [[[10, 10], [12, 10], [11, 12.2]], [[0, 0], [2, 0], [2, 2.1], [0, 2]]]
    result = match_polygons(a, b)
    assert result.pairs.tolist() == [[0, 1], [1, 0]]
    with pytest.raises(AgreementInputError, match="at least 3"):
        match_polygons([[[0, 0], [1, 1]]], [])


def test_match_keypoints_in_mm() -> None:
    a = [[10, 10], [20, 20]]
    b = [[10, 11], [40, 40]]
    result = match_keypoints(a, b, spacing=(0.5, 0.5), max_distance_mm=2.0)
    assert result.pairs.tolist() == [[0, 0]]
    assert result.scores.tolist() == [pytest.approx(0.5)]
    assert match_keypoints(a, b, spacing=(0.5, 5.0), max_distance_mm=2.0).n_matched == 0
    with pytest.raises(SpacingError):
        match_keypoints(a, b, spacing=(0.5,), max_distance_mm=2.0)
    with pytest.raises(AgreementInputError, match="max_distance_mm"):
        match_keypoints(a, b, spacing=None, max_distance_mm=0)


def test_detection_stats_pool() -> None:
    one = DetectionStats.from_match(match_boxes([[0, 0, 10, 10]], [[0, 0, 10, 11]]))
    two = DetectionStats.from_match(match_boxes([[0, 0, 1, 1]], np.zeros((0, 4))))
    pooled = one + two
    assert (pooled.n_a, pooled.n_b, pooled.n_matched) == (2, 1, 1)
    assert pooled.f1() == pytest.approx(2 / 3)
    assert pooled.mean_case_f1() == pytest.approx(0.5)
    assert pooled.mean_matched_score() == pytest.approx(100 / 110)
    keypoints = DetectionStats.from_match(match_keypoints([[0, 0]], [[0, 1]], None, 2.0))
    with pytest.raises(IncompatibleStatsError, match="scored by"):
        _ = one + keypoints
