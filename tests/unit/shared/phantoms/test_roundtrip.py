from __future__ import annotations

import io
import types
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage

from shared.phantoms import (
    SITE_STYLES,
    PhantomSeries,
    PhantomSpec,
    dataset_to_bytes,
    generate_series,
    series_file_name,
    write_series,
)


def test_datasets_is_a_lazy_iterator(small_ct: PhantomSeries) -> None:
    iterator = small_ct.datasets()
    assert isinstance(iterator, types.GeneratorType)
    assert next(iterator).InstanceNumber == 1
    assert len(small_ct) == 16


def test_bytes_are_part10_explicit_vr_little_endian(small_ct: PhantomSeries) -> None:
    data = dataset_to_bytes(small_ct.dataset(0))
    assert data[:128] == b"\x00" * 128
    assert data[128:132] == b"DICM"
    ds = pydicom.dcmread(io.BytesIO(data))
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID == CTImageStorage


def test_pydicom_round_trip_keeps_header_and_pixels(small_ct: PhantomSeries) -> None:
    original = small_ct.dataset(5)
    read = pydicom.dcmread(io.BytesIO(dataset_to_bytes(original)))
    for keyword in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "PatientID"):
        assert read[keyword].value == original[keyword].value
    assert read.InstanceNumber == 6
    assert read.Modality == "CT"
    assert float(read.RescaleIntercept) == -1024.0
    assert float(read.RescaleSlope) == 1.0
    assert (float(read.WindowCenter), float(read.WindowWidth)) == (40.0, 400.0)
    assert read.BitsStored == 12 and read.PixelRepresentation == 0
    assert np.array_equal(read.pixel_array, small_ct.pixel_slice(5))
    assert read.pixel_array.dtype == np.uint16


def test_signed_style_stores_int16() -> None:
    spec = PhantomSpec(rows=64, columns=64, slices=2, style=SITE_STYLES["ge-like"])
    series = generate_series(spec)
    read = pydicom.dcmread(io.BytesIO(dataset_to_bytes(series.dataset(1))))
    assert read.PixelRepresentation == 1 and read.BitsStored == 16
    assert read.pixel_array.dtype == np.int16
    assert np.array_equal(read.pixel_array, series.pixel_slice(1))
    assert read.Manufacturer == "Harmonia Phantom (GE-like)"


def test_mr_has_no_rescale_and_mr_attributes() -> None:
    spec = PhantomSpec(modality="MR", rows=64, columns=64, slices=3, style=SITE_STYLES["ge-like"])
    read = pydicom.dcmread(io.BytesIO(dataset_to_bytes(generate_series(spec).dataset(0))))
    assert read.SOPClassUID == MRImageStorage
    assert "RescaleIntercept" not in read
    assert read.ScanningSequence == "SE"
    assert float(read.MagneticFieldStrength) == SITE_STYLES["ge-like"].magnetic_field_strength
    assert read.pixel_array.dtype == np.uint16


@pytest.mark.parametrize("name", sorted(SITE_STYLES))
def test_styles_name_no_real_vendor(name: str) -> None:
    style = SITE_STYLES[name]
    assert style.manufacturer.startswith("Harmonia Phantom (")
    assert style.name == name


def test_style_lands_in_equipment_and_private_block() -> None:
    style = SITE_STYLES["philips-like"]
    series = generate_series(PhantomSpec(rows=64, columns=64, slices=1, style=style))
    ds = series.dataset(0)
    assert ds.Manufacturer == style.manufacturer
    assert ds.ManufacturerModelName == style.model_name
    assert ds.private_block(style.private_group, style.private_creator)[0x10].value == style.name


def test_write_series_writes_one_readable_file_per_slice(
    small_ct: PhantomSeries, tmp_path: Path
) -> None:
    paths = write_series(small_ct, tmp_path / "out")
    assert [p.name for p in paths] == [series_file_name(small_ct, k) for k in range(16)]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.name for p in paths]
    for index, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        assert ds.InstanceNumber == index + 1
        assert ds.SOPInstanceUID == small_ct.sop_instance_uids[index]
    assert paths[3].read_bytes() == dataset_to_bytes(small_ct.dataset(3))


def test_index_out_of_range_says_indices_are_zero_based(small_ct: PhantomSeries) -> None:
    with pytest.raises(IndexError, match="0-based"):
        small_ct.dataset(16)


def test_datasets_share_no_mutable_state(small_ct: PhantomSeries) -> None:
    first, second = small_ct.dataset(0), small_ct.dataset(1)
    first.PatientName = "CHANGED^NAME"
    first.OtherPatientIDsSequence[0].PatientID = "CHANGED"
    for ds in (second, small_ct.dataset(0)):
        assert ds.PatientName != "CHANGED^NAME"
        assert ds.OtherPatientIDsSequence[0].PatientID != "CHANGED"


def test_pre_encoded_header_matches_a_fully_decoded_encoding(small_ct: PhantomSeries) -> None:
    fast = dataset_to_bytes(small_ct.dataset(4))
    decoded = small_ct.dataset(4)
    decoded.walk(lambda ds, elem: None)  # decodes every element, nested ones too
    decoded.set_original_encoding(None, None)
    assert dataset_to_bytes(decoded) == fast
