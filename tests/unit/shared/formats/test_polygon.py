from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from shared.formats import (
    MaskShapeError,
    PolygonError,
    mask_to_polygons,
    polygon_area,
    polygon_is_simple,
    polygon_to_mask,
)

RECTANGLE = [(10.0, 20.0), (40.0, 20.0), (40.0, 60.0), (10.0, 60.0)]


def test_rectangle_with_integer_corners_covers_its_area() -> None:
    mask = polygon_to_mask(RECTANGLE, (100, 100))
    assert polygon_area(RECTANGLE) == 1200.0
    assert mask.sum() == 1200
    rows, cols = np.nonzero(mask)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (20, 59, 10, 39)


def test_pixel_centre_rule() -> None:
    # A box from x=0.6 to 2.4 holds the centres 1.5 only (0.5 and 2.5 are outside).
    mask = polygon_to_mask([(0.6, 0.0), (2.4, 0.0), (2.4, 1.0), (0.6, 1.0)], (1, 4))
    np.testing.assert_array_equal(mask, [[False, True, False, False]])


def test_orientation_does_not_matter() -> None:
    forward = polygon_to_mask(RECTANGLE, (80, 80))
    backward = polygon_to_mask(RECTANGLE[::-1], (80, 80))
    np.testing.assert_array_equal(forward, backward)
    assert polygon_area(RECTANGLE[::-1]) == 1200.0


def test_right_triangle_area() -> None:
    triangle = [(0.0, 0.0), (100.0, 0.0), (0.0, 100.0)]
    assert polygon_area(triangle) == 5000.0
    # Centres strictly below the diagonal x + y < 100: sum over rows of (99 - r) ... = 4950
    assert polygon_to_mask(triangle, (100, 100)).sum() == 4950


@pytest.mark.parametrize("radius", [5.0, 12.5, 30.0])
def test_regular_polygon_close_to_disc_area(radius: float) -> None:
    points = [
        (32 + radius * math.cos(t), 32 + radius * math.sin(t))
        for t in np.linspace(0, 2 * math.pi, 200, endpoint=False)
    ]
    mask = polygon_to_mask(points, (64, 64))
    assert abs(mask.sum() - math.pi * radius**2) <= 2 * math.pi * radius  # one perimeter
    assert abs(polygon_area(points) - math.pi * radius**2) < 0.01 * math.pi * radius**2


def test_polygon_outside_image_is_clipped() -> None:
    mask = polygon_to_mask([(-10.0, -10.0), (5.0, -10.0), (5.0, 5.0), (-10.0, 5.0)], (8, 8))
    assert mask.sum() == 25
    assert not polygon_to_mask([(20.0, 20.0), (30.0, 20.0), (30.0, 30.0)], (8, 8)).any()


def test_explicitly_closed_ring_is_accepted() -> None:
    assert polygon_area([*RECTANGLE, RECTANGLE[0]]) == 1200.0


@pytest.mark.parametrize(
    ("points", "simple"),
    [
        ([(0, 0), (10, 0), (10, 10), (0, 10)], True),
        ([(0, 0), (10, 0), (5, 8)], True),
        ([(0, 0), (10, 10), (10, 0), (0, 10)], False),  # bow tie
        ([(0, 0), (10, 0), (10, 10), (10, 0), (0, 10)], False),  # spike back on itself
        ([(0, 0), (10, 0), (10, 0), (0, 10)], False),  # repeated vertex
        ([(0, 0), (10, 0), (20, 0)], False),  # collinear, no area
        ([(0, 0), (10, 0), (10, 10), (5, 0), (0, 10)], False),  # vertex touches an edge
        ([(0, 0), (4, 0), (4, 4), (2, 1), (0, 4)], True),  # concave
    ],
)
def test_polygon_is_simple(points: list[tuple[float, float]], simple: bool) -> None:
    assert polygon_is_simple(points) is simple


@pytest.mark.parametrize(
    "points",
    [[(0, 0), (1, 1)], [(0, 0, 1), (1, 1, 1), (2, 0, 1)], [(0, 0), (1, float("nan")), (2, 0)]],
)
def test_not_a_polygon(points: list[tuple[float, ...]]) -> None:
    with pytest.raises(PolygonError):
        polygon_area(points)


def test_bad_shape() -> None:
    with pytest.raises(MaskShapeError):
        polygon_to_mask(RECTANGLE, (0, 10))


def test_traced_polygons_of_a_rectangle() -> None:
    mask = np.zeros((10, 10), bool)
    mask[2:5, 3:8] = True
    assert mask_to_polygons(mask) == [[(3.0, 2.0), (3.0, 5.0), (8.0, 5.0), (8.0, 2.0)]]


@settings(max_examples=60, deadline=None)
@given(arrays(np.bool_, (9, 11)))
def test_traced_polygons_rasterise_to_the_filled_regions(mask: np.ndarray) -> None:
    expected = np.zeros_like(mask)
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    for index in range(1, count + 1):
        expected |= ndimage.binary_fill_holes(labels == index)
    rebuilt = np.zeros_like(mask)
    for polygon in mask_to_polygons(mask):
        rebuilt |= polygon_to_mask(polygon, mask.shape)
    np.testing.assert_array_equal(rebuilt, expected)
