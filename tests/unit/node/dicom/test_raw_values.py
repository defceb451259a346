"""Values read from and written as encoded elements agree with pydicom's decoding."""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom import Dataset
from pydicom.data import get_testdata_files
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from node.dicom.part10 import encode_part10
from node.dicom.raw_values import element_text, encoded_empty, encoded_text

ALL_TEST_FILES = sorted(path for path in get_testdata_files() if os.path.isfile(path))
SYNTAXES = [ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian]


def _pydicom_text(ds: Dataset, tag: int) -> str:
    value = ds[tag].value
    return "" if value is None else str(value).strip(" \x00")


def _read(data: bytes) -> Dataset:
    return pydicom.dcmread(BytesIO(data), force=True)


def _encoded(ds: Dataset, syntax: str) -> bytes:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3"
    buffer = BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.parametrize("path", ALL_TEST_FILES, ids=os.path.basename)
def test_element_text_is_pydicoms_text_for_every_element_of_every_test_file(path: str) -> None:
    try:
        fast = _read(Path(path).read_bytes())
        slow = _read(Path(path).read_bytes())
    except Exception:
        pytest.skip("not readable by pydicom")
    for tag in list(fast.keys()):
        if tag >> 16 in (0x7FE0, 0x6000) or fast[tag].VR in ("SQ", "OB", "OW", "UN"):
            fast.get_item(tag)  # binary or nested: not what element_text is for
            continue
        try:
            expected = _pydicom_text(slow, tag)
        except Exception:
            continue  # pydicom cannot decode it either
        assert element_text(fast, tag) == expected, (path, hex(tag))


def test_element_text_leaves_what_it_reads_raw() -> None:
    ds = Dataset()
    ds.PatientID = "ABC123"
    ds.Modality = "CT"
    ds.StudyInstanceUID = "1.2.3.4"
    read = _read(_encoded(ds, ExplicitVRLittleEndian))
    assert element_text(read, 0x00100020) == "ABC123"
    assert element_text(read, 0x00080060) == "CT"
    assert element_text(read, 0x0020000D) == "1.2.3.4"
    assert element_text(read, 0x00100010) == ""  # absent
    for tag in (0x00100020, 0x00080060, 0x0020000D):
        assert isinstance(read._dict[tag], RawDataElement)


def test_element_text_decodes_through_pydicom_when_it_must() -> None:
    ds = Dataset()
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    ds.PatientID = "A\\B"  # two values: pydicom shows a list
    ds.StudyDescription = "plain"
    read = _read(_encoded(ds, ExplicitVRLittleEndian))
    assert element_text(read, 0x00100020) == str(read.PatientID)
    assert element_text(read, 0x00081030) == "plain"
    assert not isinstance(read._dict[0x00081030], RawDataElement)  # code extensions


_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF, exclude_characters="\\"),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(
    text=_TEXT,
    vr_tag=st.sampled_from(
        [("LO", 0x00100020), ("SH", 0x00080050), ("CS", 0x00080060), ("UI", 0x0020000D)]
    ),
    syntax=st.sampled_from(SYNTAXES),
    charset=st.sampled_from([None, "ISO_IR 100", "ISO_IR 192", "ISO_IR 144"]),
)
def test_element_text_agrees_with_pydicom_on_random_values(
    text: str, vr_tag: tuple[str, int], syntax: str, charset: str | None
) -> None:
    vr, tag = vr_tag
    ds = Dataset()
    if charset:
        ds.SpecificCharacterSet = charset
    ds.add(DataElement(tag, vr, text))
    try:
        data = _encoded(ds, syntax)
    except (UnicodeError, ValueError, TypeError):  # pydicom may garble the UnicodeError
        return  # the sender could not encode it
    fast, slow = _read(data), _read(data)
    assert element_text(fast, tag) == _pydicom_text(slow, tag)


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_encoded_replacements_are_what_pydicom_would_write_and_read(syntax: str) -> None:
    ds = Dataset()
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "X"
    ds.StudyDate = "20240101"
    ds.SeriesInstanceUID = "1.2.3.4"
    data = _encoded(ds, syntax)
    ours, theirs = _read(data), _read(data)
    replacements = [
        (0x00100010, "PN", "HN-ABCDE"),
        (0x00100020, "LO", "HN-ODD"),
        (0x0020000E, "UI", "2.25.123"),
    ]
    for tag, vr, text in replacements:
        raw = encoded_text(ours, tag, vr, text)
        assert raw is not None
        ours[tag] = raw
        theirs[tag] = DataElement(tag, vr, text)
    ours[0x00080020] = encoded_empty(ours, 0x00080020, "DA")
    theirs[0x00080020] = DataElement(0x00080020, "DA", None)
    buffer = BytesIO()
    pydicom.dcmwrite(buffer, theirs, enforce_file_format=True)
    assert encode_part10(ours).data == buffer.getvalue()
    for tag, _vr, text in replacements:
        assert str(ours[tag].value) == text  # pydicom decodes them like any element
    assert not ours.StudyDate


def test_replacements_need_an_encoding_and_plain_ascii() -> None:
    in_memory = Dataset()
    assert encoded_text(in_memory, 0x00100020, "LO", "X") is None
    assert encoded_empty(in_memory, 0x00100020, "LO") is None
    read = _read(_encoded(Dataset(), ExplicitVRLittleEndian))
    assert encoded_text(read, 0x00100020, "LO", "Müller") is None
    assert encoded_text(read, 0x00100020, "LO", "A\\B") is None
    assert encoded_text(read, 0x00100020, "LT", "long text") is None
