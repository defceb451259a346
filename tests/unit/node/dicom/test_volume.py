"""Volumes assembled from synthetic series, their geometry checks, and MPR reslices."""

from __future__ import annotations

import random
from io import BytesIO

import numpy as np
import pydicom
import pytest
from PIL import Image

from node.dicom.render import RenderOptions, render_reslice, square_pixels
from node.dicom.volume import Plane, Volume, assemble_volume, reslice
from node.errors import NotFoundError, VolumeGeometryError
from tests.dicom_samples import pydicom_file
from tests.unit.node.dicom.synthetic_ct import ct_series, ct_slice, enhanced_ct

SLICES, ROWS, COLUMNS = 20, 32, 24


def _stored() -> np.ndarray:
    """Stored values that differ per slice and per row, so misplaced data shows."""
    z, y, x = np.mgrid[0:SLICES, 0:ROWS, 0:COLUMNS]
    stored: np.ndarray = (1000 + 64 * z + 2 * y + x % 2).astype(np.uint16)
    return stored


def test_shuffled_slices_are_sorted_along_the_normal() -> None:
    datasets = ct_series(_stored())
    shuffled = datasets[:]
    random.Random(1).shuffle(shuffled)
    volume = assemble_volume(shuffled)
    assert volume.shape == (SLICES, ROWS, COLUMNS)
    assert volume.voxels.dtype == np.float32
    assert np.array_equal(volume.voxels, _stored().astype(np.float32) - 1024)
    assert volume.sop_instance_uids == tuple(str(d.SOPInstanceUID) for d in datasets)
    assert volume.spacing_mm == pytest.approx((2.5, 0.7, 0.7))
    assert volume.origin_mm == (-100.0, -100.0, -50.0)
    assert volume.slice_direction == (0.0, 0.0, 1.0)
    assert volume.window == (40.0, 400.0)
    assert volume.nbytes == SLICES * ROWS * COLUMNS * 4


def test_a_missing_slice_is_named_with_the_gap() -> None:
    datasets = ct_series(_stored())
    del datasets[7]
    with pytest.raises(VolumeGeometryError) as caught:
        assemble_volume(datasets)
    message = str(caught.value)
    assert "5.00 mm" in message and "2.50 mm" in message and "1 slice(s) missing" in message
    assert "2.25.1006" in message and "2.25.1008" in message
    assert "-35.00 mm" in message and "-30.00 mm" in message


def test_irregular_spacing_and_the_tolerance_parameter() -> None:
    jittered = ct_series(_stored())
    jittered[5].ImagePositionPatient[2] += 0.03
    assert assemble_volume(jittered).shape[0] == SLICES  # within the default 0.05 mm
    with pytest.raises(VolumeGeometryError, match="irregular"):
        assemble_volume(jittered, spacing_tolerance_mm=0.01)
    shifted = ct_series(_stored())
    shifted[5].ImagePositionPatient[2] += 1.0
    with pytest.raises(VolumeGeometryError, match="irregular"):
        assemble_volume(shifted)


def test_duplicates_mixed_stacks_and_missing_geometry_are_refused() -> None:
    datasets = ct_series(_stored())
    with pytest.raises(VolumeGeometryError, match="share position"):
        assemble_volume([*datasets, datasets[0]])
    mixed = ct_series(_stored())
    mixed[2].ImageOrientationPatient = [1, 0, 0, 0, 0.9, 0.43589]
    with pytest.raises(VolumeGeometryError, match="orientations"):
        assemble_volume(mixed)
    sizes = ct_series(_stored())
    sizes[3] = ct_slice(np.zeros((4, 4), np.uint16), position=sizes[3].ImagePositionPatient)
    with pytest.raises(VolumeGeometryError, match="image sizes"):
        assemble_volume(sizes)
    spacings = ct_series(_stored())
    spacings[4].PixelSpacing = [0.8, 0.8]
    with pytest.raises(VolumeGeometryError, match="pixel spacings"):
        assemble_volume(spacings)
    unplaced = ct_series(_stored())
    del unplaced[6].ImagePositionPatient
    with pytest.raises(VolumeGeometryError, match="ImagePositionPatient"):
        assemble_volume(unplaced)
    with pytest.raises(VolumeGeometryError, match="at least two"):
        assemble_volume(datasets[:1])
    with pytest.raises(VolumeGeometryError, match="colour"):
        rgb = pydicom.dcmread(pydicom_file("SC_rgb_rle.dcm"))
        rgb.ImageOrientationPatient, rgb.PixelSpacing = [1, 0, 0, 0, 1, 0], [1, 1]
        second = pydicom.dcmread(pydicom_file("SC_rgb_rle.dcm"))
        second.ImageOrientationPatient, second.PixelSpacing = [1, 0, 0, 0, 1, 0], [1, 1]
        rgb.ImagePositionPatient, second.ImagePositionPatient = [0, 0, 0], [0, 0, 1]
        assemble_volume([rgb, second])


def test_an_oblique_stack_assembles_along_its_own_normal() -> None:
    angle = np.deg2rad(20)
    orientation = (1.0, 0.0, 0.0, 0.0, float(np.cos(angle)), float(np.sin(angle)))
    datasets = ct_series(_stored(), orientation=orientation, spacing=3.0)
    random.Random(2).shuffle(datasets)
    volume = assemble_volume(datasets)
    assert volume.spacing_mm[0] == pytest.approx(3.0)
    assert volume.slice_direction == pytest.approx((0.0, -np.sin(angle), np.cos(angle)))
    assert np.array_equal(volume.voxels, _stored().astype(np.float32) - 1024)


def test_gantry_tilt_is_refused() -> None:
    datasets = ct_series(_stored())
    for k, ds in enumerate(datasets):  # positions drift along y: a tilted gantry
        ds.ImagePositionPatient[1] += k * 2.5 * np.tan(np.deg2rad(15))
    with pytest.raises(VolumeGeometryError, match="gantry tilt"):
        assemble_volume(datasets)


def test_an_enhanced_multi_frame_instance_assembles() -> None:
    stored = _stored()
    volume = assemble_volume([enhanced_ct(stored, spacing=2.0, slopes=[2.0] * SLICES)])
    assert volume.shape == (SLICES, ROWS, COLUMNS)
    assert np.array_equal(volume.voxels, stored.astype(np.float32) * 2 - 1024)
    assert volume.spacing_mm == pytest.approx((2.0, 0.5, 0.5))
    assert volume.frame_numbers == tuple(range(SLICES, 0, -1))  # stored top-down
    assert volume.window == (50.0, 350.0)


def test_a_grid_frame_offset_vector_instance_assembles() -> None:
    ds = pydicom.dcmread(pydicom_file("rtdose.dcm"))
    volume = assemble_volume([ds])
    assert volume.shape == (15, int(ds.Rows), int(ds.Columns))
    assert volume.spacing_mm == pytest.approx((5.0, 10.0, 10.0))


def _volume() -> Volume:
    return assemble_volume(ct_series(_stored()))


def test_reslices_have_the_right_shapes_spacing_and_orientation() -> None:
    volume = _volume()
    axial, spacing = reslice(volume, Plane.AXIAL, 3)
    assert axial.shape == (ROWS, COLUMNS) and spacing == pytest.approx((0.7, 0.7))
    assert np.shares_memory(axial, volume.voxels)  # the common case copies nothing
    assert np.array_equal(axial, volume.voxels[3])
    coronal, spacing = reslice(volume, Plane.CORONAL, 5)
    assert coronal.shape == (SLICES, COLUMNS) and spacing == pytest.approx((2.5, 0.7))
    assert np.array_equal(coronal[0], volume.voxels[-1, 5])  # head (highest z) up
    sagittal, spacing = reslice(volume, Plane.SAGITTAL, 7)
    assert sagittal.shape == (SLICES, ROWS) and spacing == pytest.approx((2.5, 0.7))
    assert np.array_equal(sagittal[0], volume.voxels[-1, :, 7])
    assert [volume.slice_count(p) for p in Plane] == [SLICES, ROWS, COLUMNS]
    for plane, index in ((Plane.AXIAL, SLICES), (Plane.CORONAL, -1), (Plane.SAGITTAL, 99)):
        with pytest.raises(NotFoundError):
            reslice(volume, plane, index)


def test_a_sagittal_acquisition_gives_true_axial_reslices() -> None:
    # Rows run anterior->posterior (+y), columns head->feet (-z); normal = -x.
    sagittal_orientation = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
    volume = assemble_volume(ct_series(_stored(), orientation=sagittal_orientation))
    assert volume.axis_of(Plane.SAGITTAL) == 0
    assert volume.axis_of(Plane.AXIAL) == 1
    assert volume.axis_of(Plane.CORONAL) == 2
    axial, spacing = reslice(volume, Plane.AXIAL, 0)
    # rows anterior->posterior (voxel x), columns right->left (+x: voxel z descending)
    assert axial.shape == (COLUMNS, SLICES) and spacing == pytest.approx((0.7, 2.5))
    assert np.array_equal(axial, volume.voxels[::-1, 0, :].T)
    sagittal, _ = reslice(volume, Plane.SAGITTAL, 0)
    assert np.array_equal(sagittal, volume.voxels[0])  # already head up, anterior left


def test_render_reslice_has_square_pixels_and_the_head_up() -> None:
    stored = np.full((SLICES, ROWS, COLUMNS), 1024, np.uint16)
    stored[-1] = 3000  # the top slice is bright
    volume = assemble_volume(ct_series(stored))
    image = Image.open(BytesIO(render_reslice(volume, Plane.CORONAL, 4, RenderOptions())))
    assert image.size == (COLUMNS, round(SLICES * 2.5 / 0.7))
    pixels = np.asarray(image)
    assert pixels[0].min() == 255 and pixels[-1].max() < 255
    axial = Image.open(BytesIO(render_reslice(volume, Plane.AXIAL, 0)))
    assert axial.size == (COLUMNS, ROWS)


def test_square_pixels_stretches_the_coarser_axis() -> None:
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert square_pixels(values, 1.0, 1.0) is values
    tall = square_pixels(values, 2.0, 1.0)
    assert tall.shape == (4, 3)
    assert tall[:, 0].tolist() == pytest.approx([0.0, 0.75, 2.25, 3.0])
    wide = square_pixels(values, 1.0, 3.0)
    assert wide.shape == (2, 9) and wide[0, 0] == 0 and wide[0, -1] == 2
