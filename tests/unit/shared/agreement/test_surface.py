import math

import numpy as np
import pytest
import SimpleITK as sitk  # noqa: N813 - the library's own convention
from scipy.spatial.distance import cdist

from shared.agreement import (
    AgreementInputError,
    SpacingError,
    hausdorff,
    surface_distance,
)
from shared.agreement.surface import directed_surface_distances, surface_voxels

from .conftest import ball


def _sitk_hd(a: np.ndarray, b: np.ndarray, spacing: tuple[float, ...]) -> float:
    images = []
    for mask in (a, b):
        image = sitk.GetImageFromArray(mask.astype(np.uint8))
        image.SetSpacing(tuple(float(s) for s in spacing[::-1]))  # SimpleITK is x-first
        images.append(image)
    filt = sitk.HausdorffDistanceImageFilter()
    filt.Execute(*images)
    return float(filt.GetHausdorffDistance())


def _brute_force(a: np.ndarray, b: np.ndarray, spacing: tuple[float, ...]) -> tuple:
    pa = np.argwhere(surface_voxels(a)) * np.asarray(spacing)
    pb = np.argwhere(surface_voxels(b)) * np.asarray(spacing)
    dist = cdist(pa, pb)
    return dist.min(axis=1), dist.min(axis=0)


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.5, 0.8, 0.7)])
def test_hausdorff_matches_simpleitk_3d(
    two_balls: tuple[np.ndarray, np.ndarray], spacing: tuple[float, ...]
) -> None:
    a, b = two_balls
    assert hausdorff(a, b, spacing) == pytest.approx(_sitk_hd(a, b, spacing), rel=1e-9)


def test_hausdorff_matches_simpleitk_2d_anisotropic() -> None:
    a = np.zeros((40, 50), bool)
    b = np.zeros((40, 50), bool)
    a[5:20, 10:30] = True
    b[8:25, 12:35] = True
    assert hausdorff(a, b, (1.5, 0.5)) == pytest.approx(_sitk_hd(a, b, (1.5, 0.5)))


def test_hd95_and_assd_match_brute_force(two_balls: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = two_balls
    spacing = (2.0, 0.7, 0.9)
    d_ab, d_ba = _brute_force(a, b, spacing)
    got_ab, got_ba = directed_surface_distances(a, b, spacing)
    np.testing.assert_allclose(np.sort(got_ab), np.sort(d_ab))
    np.testing.assert_allclose(np.sort(got_ba), np.sort(d_ba))
    expected95 = max(np.percentile(d_ab, 95), np.percentile(d_ba, 95))
    assert hausdorff(a, b, spacing, percentile=95) == pytest.approx(expected95)
    expected_assd = (d_ab.sum() + d_ba.sum()) / (d_ab.size + d_ba.size)
    assert surface_distance(a, b, spacing) == pytest.approx(expected_assd)


def test_shifted_square_known_distances() -> None:
    a = np.zeros((20, 20), bool)
    a[5:10, 5:10] = True
    b = np.roll(a, 3, axis=1)
    assert hausdorff(a, b, (1.0, 2.0)) == pytest.approx(6.0)
    assert hausdorff(a, a, (1.0, 2.0)) == 0.0
    assert surface_distance(a, a) == 0.0


def test_mask_touching_image_edge_has_edge_surface() -> None:
    a = np.ones((5, 5), bool)
    assert surface_voxels(a).sum() == 16


def test_empty_mask_conventions() -> None:
    empty = np.zeros((8, 8), bool)
    some = np.zeros((8, 8), bool)
    some[2:4, 2:4] = True
    assert hausdorff(empty, empty) == 0.0
    assert surface_distance(empty, empty) == 0.0
    assert hausdorff(empty, some) == math.inf
    assert hausdorff(some, empty, percentile=95) == math.inf
    assert surface_distance(some, empty) == math.inf


def test_validation() -> None:
    a = np.zeros((4, 4), bool)
    with pytest.raises(SpacingError):
        hausdorff(a, a, (0.0, 1.0))
    with pytest.raises(SpacingError):
        hausdorff(a, a, (1.0, float("nan")))
    with pytest.raises(AgreementInputError, match="percentile"):
        hausdorff(a, a, percentile=0)
    with pytest.raises(AgreementInputError, match="2-D or 3-D"):
        hausdorff(np.zeros(4, bool), np.zeros(4, bool))
    with pytest.raises(AgreementInputError, match="boolean"):
        surface_distance(a.astype(float), a)


def test_ball_helper_is_symmetric() -> None:
    assert ball((5, 5), (2, 2), 1).sum() == 5
