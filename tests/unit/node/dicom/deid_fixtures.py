"""Shared builders for the de-identification tests."""

from __future__ import annotations

import io

import pydicom
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

SECRET = b"unit-test-site-secret-0123456789abcdef"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def make_ct(
    patient_id: str = "PID-123",
    patient_name: str = "Doe^Jane",
    study_uid: str = "1.2.826.0.1.3680043.8.498.1",
    series_uid: str = "1.2.826.0.1.3680043.8.498.2",
    sop_uid: str = "1.2.826.0.1.3680043.8.498.3",
) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.SourceApplicationEntityTitle = "HOSPITAL_PACS"
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.4"
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    ds.PatientBirthDate = "19700215"
    ds.PatientSex = "F"
    ds.PatientAge = "054Y"
    ds.PatientWeight = "61.5"
    ds.StudyDate = "20240310"
    ds.SeriesDate = "20240310"
    ds.ContentDate = "20240310"
    ds.StudyTime = "101500"
    ds.ContentTime = "101733.25"
    ds.AcquisitionDateTime = "20240310101600.000000+0100"
    ds.AccessionNumber = "ACC-0042"
    ds.StudyID = "S1"
    ds.Modality = "CT"
    ds.BurnedInAnnotation = "NO"
    ds.Rows = 4
    ds.Columns = 4
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = b"\x00\x01" * 16
    return ds


def ref_item(sop_class: str, sop_instance: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_instance
    return item


def seq(*items: Dataset) -> Sequence:
    return Sequence(list(items))


def to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def roundtrip(ds: Dataset) -> Dataset:
    return pydicom.dcmread(io.BytesIO(to_bytes(ds)))


def tags_of(ds: Dataset) -> list[pydicom.tag.BaseTag]:
    """The dataset's tags without converting any element."""
    return list(ds.keys())
