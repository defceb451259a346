from __future__ import annotations

import copy
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from pydicom.dataset import FileDataset

from shared.formats import (
    MaskShapeError,
    SeriesGeometry,
    SeriesGeometryError,
    label_volume,
    write_nifti,
)
from shared.phantoms import PhantomSeries


def test_affine_maps_first_voxel_to_first_position_in_ras(
    tmp_path: Path, phantom: PhantomSeries, sources: list[FileDataset]
) -> None:
    truth = phantom.ground_truth()
    path = write_nifti(
        tmp_path / "alice.nii.gz", {"nodule": truth == 1, "other": truth >= 2}, sources
    )
    image = nib.load(path)
    assert image.shape == (phantom.spec.columns, phantom.spec.rows, phantom.spec.slices)
    x, y, z = (float(v) for v in sources[0].ImagePositionPatient)
    np.testing.assert_allclose(image.affine @ [0, 0, 0, 1], [-x, -y, z, 1])
    last = [float(v) for v in sources[-1].ImagePositionPatient]
    corner = [phantom.spec.columns - 1, phantom.spec.rows - 1, phantom.spec.slices - 1, 1]
    expected_xy = np.array(last[:2]) + (np.array(corner[:2]) * float(sources[0].PixelSpacing[0]))
    np.testing.assert_allclose(
        image.affine @ corner, [-expected_xy[0], -expected_xy[1], last[2], 1]
    )
    assert int(image.header["qform_code"]) == 1 and int(image.header["sform_code"]) == 1
    data = np.asarray(image.dataobj)
    np.testing.assert_array_equal(data.transpose(2, 1, 0) == 1, truth == 1)
    np.testing.assert_array_equal(data.transpose(2, 1, 0) == 2, truth >= 2)
    sidecar = json.loads((tmp_path / "alice.json").read_text())
    assert sidecar["labels"] == {"1": "nodule", "2": "other"}
    assert sidecar["sop_instance_uids"] == list(phantom.sop_instance_uids)


def test_oblique_geometry(sources: list[FileDataset]) -> None:
    tilted = [copy.deepcopy(ds) for ds in sources[:3]]
    c, s = np.cos(0.3), np.sin(0.3)
    for k, ds in enumerate(tilted):
        ds.ImageOrientationPatient = [1, 0, 0, 0, c, s]
        ds.ImagePositionPatient = [0, -s * 2 * k, c * 2 * k]
        ds.PixelSpacing = [0.5, 0.8]
    geometry = SeriesGeometry.from_datasets(tilted)
    lps = geometry.affine_lps()
    np.testing.assert_allclose(lps @ [1, 0, 0, 1], [0.8, 0, 0, 1])  # one column: row spacing 0.8
    np.testing.assert_allclose(lps @ [0, 1, 0, 1], [0, 0.5 * c, 0.5 * s, 1])
    np.testing.assert_allclose(lps @ [0, 0, 2, 1], [0, -4 * s, 4 * c, 1])


def test_single_slice_uses_thickness(sources: list[FileDataset]) -> None:
    geometry = SeriesGeometry.from_datasets(sources[:1])
    assert geometry.slice_step[2] == pytest.approx(float(sources[0].SliceThickness))


def test_uneven_or_missing_geometry_is_refused(sources: list[FileDataset]) -> None:
    uneven = [copy.deepcopy(ds) for ds in sources[:3]]
    uneven[2].ImagePositionPatient = [*uneven[2].ImagePositionPatient[:2], 40.0]
    with pytest.raises(SeriesGeometryError, match="evenly spaced"):
        SeriesGeometry.from_datasets(uneven)
    missing = copy.deepcopy(sources[0])
    del missing.PixelSpacing
    with pytest.raises(SeriesGeometryError, match="PixelSpacing"):
        SeriesGeometry.from_datasets([missing])
    with pytest.raises(SeriesGeometryError):
        SeriesGeometry.from_datasets([])


def test_label_volume_shape_check() -> None:
    with pytest.raises(MaskShapeError):
        label_volume({"a": np.zeros((2, 3, 3), bool)}, (2, 3, 4))
    volume, names = label_volume(
        {"a": np.ones((1, 2, 2), bool), "b": np.eye(2, dtype=bool)[None]}, (1, 2, 2)
    )
    assert names == {1: "a", 2: "b"}
    np.testing.assert_array_equal(volume[0], [[2, 1], [1, 2]])


def test_a_ready_label_map(
    tmp_path: Path, phantom: PhantomSeries, sources: list[FileDataset]
) -> None:
    truth = phantom.ground_truth()
    path = write_nifti(tmp_path / "truth.nii", truth, sources, label_names={1: "nodule"})
    data = np.asarray(nib.load(path).dataobj)
    np.testing.assert_array_equal(data.transpose(2, 1, 0), truth)
    labels = json.loads((tmp_path / "truth.json").read_text())["labels"]
    assert labels["1"] == "nodule"
    assert all(name.startswith("label ") for value, name in labels.items() if value != "1")
    with pytest.raises(MaskShapeError, match="integers"):
        write_nifti(tmp_path / "f.nii", truth.astype(float), sources)
