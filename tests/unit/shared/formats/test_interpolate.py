from __future__ import annotations

import itertools

import numpy as np
import pytest

from shared.formats import MaskShapeError, interpolate_key_slices, signed_distance


def disc(radius: float, centre: tuple[float, float] = (32.0, 32.0), size: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2


def test_key_slices_are_kept_exactly() -> None:
    keys = {3: disc(5), 9: disc(18), 12: disc(10, (20, 40))}
    result = interpolate_key_slices(keys)
    assert sorted(result) == list(range(3, 13))
    for index, mask in keys.items():
        np.testing.assert_array_equal(result[index], mask)


@pytest.mark.parametrize(("small", "large"), [(4.0, 20.0), (20.0, 4.0)])
def test_areas_between_two_discs_are_monotone(small: float, large: float) -> None:
    result = interpolate_key_slices({0: disc(small), 10: disc(large)})
    areas = [int(result[k].sum()) for k in range(11)]
    steps = np.diff(areas)
    assert (steps >= 0).all() if large > small else (steps <= 0).all()
    assert areas[0] != areas[-1]
    # Middle slice close to the disc of the mean radius.
    assert abs(areas[5] - disc((small + large) / 2).sum()) <= 0.1 * disc(12).sum()


def test_shifted_disc_moves_its_centre() -> None:
    # Overlapping key shapes: shape-based interpolation slides one into the other.
    result = interpolate_key_slices({0: disc(10, (32, 26)), 4: disc(10, (32, 38))})
    centres = [np.nonzero(result[k])[1].mean() for k in range(5)]
    assert np.all(np.diff(centres) > 0)
    assert abs(centres[2] - 32) < 1.0


def test_adjacent_and_single_keys() -> None:
    assert list(interpolate_key_slices({5: disc(3)})) == [5]
    assert list(interpolate_key_slices({5: disc(3), 6: disc(4)})) == [5, 6]


def test_empty_key_slice_shrinks_to_nothing() -> None:
    result = interpolate_key_slices({0: disc(10), 4: np.zeros((64, 64), bool)})
    areas = [int(result[k].sum()) for k in range(5)]
    assert areas[-1] == 0
    assert all(a >= b for a, b in itertools.pairwise(areas))


def test_signed_distance_sign() -> None:
    mask = disc(5)
    distance = signed_distance(mask)
    assert (distance[mask] < 0).all()
    assert (distance[~mask] > 0).all()


def test_shape_errors() -> None:
    with pytest.raises(MaskShapeError):
        interpolate_key_slices({})
    with pytest.raises(MaskShapeError):
        interpolate_key_slices({0: disc(3), 2: np.zeros((10, 10), bool)})
