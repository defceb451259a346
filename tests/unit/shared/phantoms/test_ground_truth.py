from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from shared.phantoms import (
    CT_RESCALE_INTERCEPT,
    Lesion,
    LesionKind,
    PhantomSeries,
    PhantomSpec,
    Tissue,
    generate_series,
)


def test_ground_truth_has_the_volume_shape(small_ct: PhantomSeries) -> None:
    truth = small_ct.ground_truth()
    assert truth.dtype == np.uint8
    assert truth.shape == (16, 96, 96)
    assert set(np.unique(truth)) == {0, 1, 2, 3}
    for index in (0, 7, 15):
        assert np.array_equal(small_ct.mask_slice(index), truth[index])


def test_voxel_at_each_lesion_centre_carries_its_label(small_ct: PhantomSeries) -> None:
    truth = small_ct.ground_truth()
    geometry = small_ct.geometry
    assert len(small_ct.lesions) == 3
    for lesion in small_ct.lesions:
        k, r, c = geometry.voxel_index(lesion.center_mm)
        assert truth[k, r, c] == lesion.label


def test_lesion_voxels_lie_within_the_ellipsoid(small_ct: PhantomSeries) -> None:
    truth = small_ct.ground_truth()
    geometry = small_ct.geometry
    z, y, x = np.meshgrid(geometry.z_mm(), geometry.y_mm(), geometry.x_mm(), indexing="ij")
    for lesion in small_ct.lesions:
        (cx, cy, cz), (rx, ry, rz) = lesion.center_mm, lesion.radii_mm
        inside = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 + ((z - cz) / rz) ** 2 <= 1.0
        assert np.array_equal(truth == lesion.label, inside)


def test_noise_free_pixels_hold_the_tissue_values(small_ct: PhantomSeries) -> None:
    for lesion in small_ct.lesions:
        k, r, c = small_ct.geometry.voxel_index(lesion.center_mm)
        hu = small_ct.pixel_slice(k).astype(float) + CT_RESCALE_INTERCEPT
        assert hu[r, c] == lesion.kind.ct_number
    corner = small_ct.pixel_slice(0).astype(float) + CT_RESCALE_INTERCEPT
    assert corner[0, 0] == Tissue.AIR.ct_number


def test_lesions_differ_from_their_surroundings_despite_noise(noisy_ct: PhantomSeries) -> None:
    truth = noisy_ct.ground_truth()
    hu = np.stack([noisy_ct.pixel_slice(k) for k in range(len(noisy_ct))]).astype(float)
    hu += CT_RESCALE_INTERCEPT
    for lesion in noisy_ct.lesions:
        inside = truth == lesion.label
        core = ndimage.binary_erosion(inside)
        shell = ndimage.binary_dilation(inside, iterations=3) & ~ndimage.binary_dilation(inside)
        assert core.sum() > 0 and shell.sum() > 0
        difference = hu[core].mean() - hu[shell].mean()
        assert abs(difference) > 30.0, (lesion.name, difference)


def test_custom_lesions_are_drawn_where_asked() -> None:
    lesion = Lesion((4.0, -6.0, 2.0), (6.0, 3.0, 4.0), label=9, kind=LesionKind.CALCIFIED)
    series = generate_series(PhantomSpec(rows=64, columns=64, slices=12, lesions=[lesion]))
    truth = series.ground_truth()
    assert set(np.unique(truth)) == {0, 9}
    k, r, c = series.geometry.voxel_index(lesion.center_mm)
    assert truth[k, r, c] == 9
    hu = series.pixel_slice(k).astype(float) + CT_RESCALE_INTERCEPT
    assert hu[r, c] == pytest.approx(LesionKind.CALCIFIED.ct_number)


def test_later_lesion_wins_where_lesions_overlap() -> None:
    lesions = [
        Lesion.sphere((0.0, 0.0, 0.0), 6.0, label=1),
        Lesion.sphere((2.0, 0.0, 0.0), 3.0, label=2, kind="cyst"),
    ]
    series = generate_series(PhantomSpec(rows=64, columns=64, slices=9, lesions=lesions))
    k, r, c = series.geometry.voxel_index((2.0, 0.0, 0.0))
    assert series.ground_truth()[k, r, c] == 2


def test_mr_has_its_own_contrast() -> None:
    spec = PhantomSpec(modality="MR", rows=96, columns=96, slices=16, seed=7)
    series = generate_series(spec)
    for lesion in series.lesions:
        k, r, c = series.geometry.voxel_index(lesion.center_mm)
        assert series.pixel_slice(k)[r, c] == lesion.kind.mr_signal
    assert series.pixel_slice(0)[0, 0] == Tissue.AIR.mr_signal
