"""Reading incoming instances: the cheap SOP class pre-check."""

from __future__ import annotations

from io import BytesIO

import pydicom
import pytest
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    SegmentationStorage,
)

from node.dicom.parse import may_have_sop_class


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
