"""Volumes assembled from phantom series, MPR reslices, and the volume cache."""

from __future__ import annotations

import random
from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from node.dicom.render import RenderOptions, render_reslice
from node.dicom.volume import Plane, VolumeCache, assemble_volume, reslice
from node.errors import NotFoundError, VolumeGeometryError
from shared.phantoms import SITE_STYLES, PhantomSpec, generate_series


@pytest.fixture(scope="module")
def series():  # type: ignore[no-untyped-def]
    spec = PhantomSpec(
        modality="CT", rows=64, columns=64, slices=20, seed=5, style=SITE_STYLES["reference"]
    )
    return generate_series(spec)


def test_shuffled_slices_are_sorted_along_the_normal(series) -> None:  # type: ignore[no-untyped-def]
    datasets = list(series.datasets())
    shuffled = datasets[:]
    random.Random(1).shuffle(shuffled)
    volume = assemble_volume(shuffled)
    assert volume.shape == (20, 64, 64)
    assert volume.sop_instance_uids == tuple(str(d.SOPInstanceUID) for d in datasets)
    assert volume.spacing[1:] == tuple(float(v) for v in datasets[0].PixelSpacing)
    expected = float(datasets[0].RescaleSlope) * datasets[3].pixel_array + float(
        datasets[3].RescaleIntercept
    )
    assert np.allclose(volume.voxels[3], expected)


def test_a_missing_slice_is_named(series) -> None:  # type: ignore[no-untyped-def]
    datasets = list(series.datasets())
    del datasets[7]
    with pytest.raises(VolumeGeometryError, match="irregular"):
        assemble_volume(datasets)


def test_duplicates_and_mixed_orientation_are_refused(series) -> None:  # type: ignore[no-untyped-def]
    datasets = list(series.datasets())
    with pytest.raises(VolumeGeometryError, match="share a position"):
        assemble_volume([*datasets, datasets[0]])
    tilted = list(series.datasets())
    tilted[2].ImageOrientationPatient = [1, 0, 0, 0, 0.9, 0.43589]
    with pytest.raises(VolumeGeometryError, match="orientation"):
        assemble_volume(tilted)


def test_reslices_have_the_right_shapes_and_spacing(series) -> None:  # type: ignore[no-untyped-def]
    volume = assemble_volume(list(series.datasets()))
    coronal, spacing = reslice(volume, Plane.CORONAL, 32)
    assert coronal.shape == (20, 64) and spacing == (volume.spacing[0], volume.spacing[2])
    assert reslice(volume, Plane.SAGITTAL, 0)[0].shape == (20, 64)
    with pytest.raises(NotFoundError):
        reslice(volume, Plane.AXIAL, 20)
    image = Image.open(BytesIO(render_reslice(volume, Plane.CORONAL, 32, RenderOptions())))
    rows = round(20 * volume.spacing[0] / volume.spacing[2])
    assert image.size == (64, rows)  # resampled to square pixels


def test_cache_evicts_least_recently_used(series) -> None:  # type: ignore[no-untyped-def]
    volume = assemble_volume(list(series.datasets()))
    cache = VolumeCache(max_bytes=int(volume.nbytes * 2.5))
    for key in ("a", "b"):
        cache.put(key, volume)
    assert cache.get("a") is volume
    cache.put("c", volume)
    assert cache.get("b") is None and cache.get("a") is volume and len(cache) == 2
