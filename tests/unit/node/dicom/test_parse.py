"""Reading incoming instances: the cheap SOP class pre-check."""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom import Dataset
from pydicom.data import get_testdata_file, get_testdata_files
from pydicom.dataset import FileMetaDataset
from pydicom.pixels.utils import get_expected_length
from pydicom.uid import (
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    SegmentationStorage,
)

from node.dicom.parse import may_have_sop_class, parse_instance
from node.errors import NotDicomError


def _encoded(sop_class: str, syntax: str, *, meta_class: bool = True) -> bytes:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.PatientName = "Doe^Jane"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.5"
    ds.file_meta.MediaStorageSOPClassUID = sop_class if meta_class else CTImageStorage
    buffer = BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "syntax",
    [
        ImplicitVRLittleEndian,
        ExplicitVRLittleEndian,
        ExplicitVRBigEndian,
        DeflatedExplicitVRLittleEndian,
    ],
)
def test_an_instance_of_the_class_is_always_a_candidate(syntax: str) -> None:
    assert may_have_sop_class(_encoded(SegmentationStorage, syntax), SegmentationStorage)
    # Even when only the data set (maybe deflated) names the class.
    data = _encoded(SegmentationStorage, syntax, meta_class=False)
    assert may_have_sop_class(data, SegmentationStorage)


@pytest.mark.parametrize(
    "syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian]
)
def test_an_instance_of_another_class_is_ruled_out(syntax: str) -> None:
    assert not may_have_sop_class(_encoded(CTImageStorage, syntax), SegmentationStorage)


def test_a_deflated_instance_of_another_class_cannot_be_ruled_out() -> None:
    data = _encoded(CTImageStorage, DeflatedExplicitVRLittleEndian)
    assert may_have_sop_class(data, SegmentationStorage)


def test_garbage_is_ruled_out_and_does_not_raise() -> None:
    assert not may_have_sop_class(b"", SegmentationStorage)
    assert not may_have_sop_class(b"\x00" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00", "1.2")


def test_the_expected_pixel_data_length_is_pydicoms_for_every_test_file() -> None:
    from node.dicom.parse import _expected_pixel_bytes

    compared = 0
    for path in sorted(p for p in get_testdata_files() if os.path.isfile(p)):
        try:
            fast, slow = (pydicom.dcmread(path, force=True) for _ in range(2))
        except Exception:
            continue
        if "PixelData" not in slow:
            continue
        try:
            expected = int(get_expected_length(slow, unit="bytes"))
        except (AttributeError, TypeError, ValueError, KeyError):
            assert _expected_pixel_bytes(fast) is None, path
            continue
        assert _expected_pixel_bytes(fast) == expected, path
        compared += 1
    assert compared > 80


def test_truncated_native_pixel_data_is_refused() -> None:
    data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    pixels_at = pydicom.dcmread(BytesIO(data))._dict[0x7FE00010].value_tell
    with pytest.raises(NotDicomError, match="truncated"):
        parse_instance(data[: pixels_at + 1000], max_instance_bytes=1 << 30, require_part10=True)
    assert parse_instance(data, max_instance_bytes=1 << 30, require_part10=True).Rows == 128
