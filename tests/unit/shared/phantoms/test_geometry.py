from __future__ import annotations

import numpy as np
import pytest

from shared.phantoms import SITE_STYLES, PhantomSpec, generate_series


@pytest.mark.parametrize(
    ("modality", "style"),
    [("CT", "reference"), ("CT", "ge-like"), ("MR", "philips-like"), ("MR", "siemens-like")],
)
def test_positions_step_by_the_spacing_along_the_normal(modality: str, style: str) -> None:
    spec = PhantomSpec(
        modality=modality, rows=64, columns=72, slices=9, seed=1, style=SITE_STYLES[style]
    )
    datasets = list(generate_series(spec).datasets())

    orientations = {tuple(float(v) for v in ds.ImageOrientationPatient) for ds in datasets}
    assert len(orientations) == 1
    (orientation,) = orientations
    row, column = np.array(orientation[:3]), np.array(orientation[3:])
    normal = np.cross(row, column)
    assert np.allclose(normal, [0.0, 0.0, 1.0])

    spacing = float(datasets[0].SpacingBetweenSlices)
    assert spacing == pytest.approx(spec.slice_spacing_mm)
    assert float(datasets[0].SliceThickness) == pytest.approx(spec.slice_thickness_mm)
    positions = np.array([[float(v) for v in ds.ImagePositionPatient] for ds in datasets])
    steps = np.diff(positions, axis=0)
    assert np.allclose(steps, normal * spacing, atol=1e-5)
    assert np.allclose(positions @ normal, [float(ds.SliceLocation) for ds in datasets])

    assert [ds.InstanceNumber for ds in datasets] == list(range(1, 10))
    assert len({ds.FrameOfReferenceUID for ds in datasets}) == 1
    assert len({ds.SOPInstanceUID for ds in datasets}) == 9
    for ds in datasets:
        assert [float(v) for v in ds.PixelSpacing] == [spec.pixel_spacing_mm] * 2
        assert (ds.Rows, ds.Columns) == (64, 72)


def test_volume_is_centred_on_the_patient_origin() -> None:
    spec = PhantomSpec(rows=64, columns=64, slices=5, pixel_spacing_mm=0.5, slice_spacing_mm=2.0)
    geometry = spec.geometry
    assert geometry.origin_mm == (-15.75, -15.75, -4.0)
    assert geometry.position_mm(4) == (-15.75, -15.75, 4.0)
    assert geometry.bounds_mm() == ((-16.0, 16.0), (-16.0, 16.0), (-5.0, 5.0))
    assert geometry.voxel_index((0.25, -15.75, 2.0)) == (3, 0, 32)


def test_slice_spacing_may_differ_from_thickness() -> None:
    spec = PhantomSpec(rows=64, columns=64, slices=3, slice_thickness_mm=1.0, slice_spacing_mm=1.5)
    datasets = list(generate_series(spec).datasets())
    assert float(datasets[0].SliceThickness) == 1.0
    assert float(datasets[0].SpacingBetweenSlices) == 1.5
    assert float(datasets[2].SliceLocation) - float(datasets[0].SliceLocation) == 3.0
