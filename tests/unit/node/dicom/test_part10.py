"""The Part 10 encoder writes exactly what pydicom's dcmwrite writes, or hands over to it."""

from __future__ import annotations

import os
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom import Dataset
from pydicom.data import get_testdata_files
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
    generate_uid,
)

from node.dicom.deid import Deidentifier, DeidOptions
from node.dicom.part10 import Encoded, encode_part10

ALL_TEST_FILES = sorted(path for path in get_testdata_files() if os.path.isfile(path))
SECRET = b"part10-test-secret-0123456789abcdef"


def _read(data: bytes) -> Dataset:
    return pydicom.dcmread(BytesIO(data), force=True)


def _reference(data: bytes, edit: Callable[[Dataset], object] | None = None) -> bytes:
    """What pydicom's own writer makes of the same bytes after the same edit."""
    ds = _read(data)
    if edit is not None:
        edit(ds)
    buffer = BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _ours(data: bytes, edit: Callable[[Dataset], object] | None = None) -> Encoded:
    ds = _read(data)
    if edit is not None:
        edit(ds)
    return encode_part10(ds)


def _assert_same_as_pydicom(
    data: bytes, edit: Callable[[Dataset], object] | None = None, *, fast: bool = True
) -> Encoded:
    encoded = _ours(data, edit)
    assert encoded.data == _reference(data, edit)
    if fast:
        assert encoded.fallback_reason is None
    return encoded


def _file(ds: Dataset, syntax: str) -> bytes:
    """Encode an in-memory dataset with pydicom, as a sender would."""
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = ds.get("SOPClassUID", "1.2.840.10008.5.1.4.1.1.7")
    ds.file_meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID", generate_uid())
    buffer = BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _base() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.StudyInstanceUID = "1.2.3.4"
    ds.SeriesInstanceUID = "1.2.3.4.1"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "ODD"  # odd length: padded
    return ds


def _readable_files() -> list[str]:
    readable = []
    for path in ALL_TEST_FILES:
        try:
            ds = _read(Path(path).read_bytes())
        except Exception:
            continue
        if "TransferSyntaxUID" in ds.file_meta:
            readable.append(path)
    return readable


READABLE = _readable_files()


def test_many_test_files_are_readable() -> None:
    assert len(READABLE) > 140


@pytest.mark.parametrize("path", READABLE, ids=os.path.basename)
def test_every_pydicom_test_file_is_written_byte_for_byte_as_dcmwrite_does(path: str) -> None:
    data = Path(path).read_bytes()
    try:
        reference = _reference(data)
    except Exception as exc:  # pydicom cannot write it: neither may we, the same way
        with pytest.raises(type(exc)):
            encode_part10(_read(data))
        return
    encoded = _ours(data)
    assert encoded.data == reference
    if Path(path).name != "image_dfl.dcm":
        assert encoded.fallback_reason is None, encoded.fallback_reason


@pytest.mark.parametrize("path", READABLE, ids=os.path.basename)
def test_every_deidentified_test_file_is_written_as_dcmwrite_does(path: str) -> None:
    deid = Deidentifier(SECRET, DeidOptions())
    data = Path(path).read_bytes()
    try:
        reference = _reference(data, deid.deidentify)
    except Exception as exc:  # a DICOMDIR, a corrupt element: refused either way
        with pytest.raises(type(exc)):
            _ours(data, deid.deidentify)
        return
    encoded = _ours(data, deid.deidentify)
    assert encoded.data == reference
    assert _read(encoded.data).PatientIdentityRemoved == "YES"


def test_deflated_data_sets_go_to_pydicom_and_say_so() -> None:
    data = Path(pydicom.data.get_testdata_file("image_dfl.dcm")).read_bytes()
    encoded = _assert_same_as_pydicom(data, fast=False)
    assert encoded.fallback_reason is not None
    assert "deflated" in encoded.fallback_reason
    assert _read(encoded.data).file_meta.TransferSyntaxUID == DeflatedExplicitVRLittleEndian


def test_a_data_set_to_write_in_another_encoding_than_it_was_read_goes_to_pydicom() -> None:
    # pydicom converts every element (VRs looked up, ambiguous VRs resolved): so
    # it writes this one.
    data = _file(_base(), ImplicitVRLittleEndian)

    def relabel(ds: Dataset) -> None:
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian

    encoded = _assert_same_as_pydicom(data, relabel, fast=False)
    assert encoded.fallback_reason is not None
    assert "read as" in encoded.fallback_reason
    assert _read(encoded.data).PatientID == "ODD"


@pytest.mark.parametrize(
    "syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian]
)
def test_native_syntaxes_with_sequences_odd_values_and_edits(syntax: str) -> None:
    ds = _base()
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.SamplesPerPixel = 3, 3, 8, 1
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 7, 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = bytes(range(9))  # odd length: padded with NUL
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.WindowCenter = ["40", "400"]
    ds.PixelSpacing = [0.5, 0.5]
    ds.ReferencedImageSequence = Sequence([_ref("1.2.3.9"), _ref("1.2.3.10")])
    ds.ReferencedImageSequence[0].ReferencedFrameNumber = "1"
    ds.add_new(0x00091010, "LO", "private value")
    ds.add_new(0x00090010, "LO", "ACME")
    ds.OtherPatientIDsSequence = Sequence([Dataset()])
    data = _file(ds, syntax)

    def edit(ds: Dataset) -> None:
        ds.PatientName = "HN-ABCDEFG"
        ds.StudyDate = ""
        ds.SeriesInstanceUID = "2.25.123"  # odd length: NUL pad
        ds.ReferencedImageSequence[1].ReferencedSOPInstanceUID = "2.25.77"
        _ = ds.Rows  # decoded, unchanged
        del ds[0x00091010]
        ds.DeidentificationMethod = ["A", "BC"]
        ds.LongitudinalTemporalInformationModified = "REMOVED"
        ds.add_new(0x00120064, "SQ", Sequence([_code("113100")]))

    _assert_same_as_pydicom(data)
    _assert_same_as_pydicom(data, edit)


def test_undefined_length_sequences_and_items_keep_their_delimiters() -> None:
    ds = _base()
    ds.ReferencedStudySequence = Sequence([_ref("1.2.3.11")])
    ds["ReferencedStudySequence"].is_undefined_length = True
    ds.ReferencedStudySequence[0].is_undefined_length_sequence_item = True
    data = _file(ds, ExplicitVRLittleEndian)
    assert b"\xfe\xff\xdd\xe0" in data and b"\xfe\xff\x0d\xe0" in data
    encoded = _assert_same_as_pydicom(data, lambda d: setattr(d, "PatientID", "X"))
    assert b"\xfe\xff\xdd\xe0" in encoded.data and b"\xfe\xff\x0d\xe0" in encoded.data


@pytest.mark.parametrize("syntax", [RLELossless, JPEGBaseline8Bit])
def test_encapsulated_pixel_data_is_copied_with_its_delimiter(syntax: str) -> None:
    ds = _base()
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.SamplesPerPixel = 2, 2, 8, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = encapsulate([b"\x01\x02\x03", b"\x04\x05"])
    ds["PixelData"].is_undefined_length = True
    ds["PixelData"].VR = "OB"
    data = _file(ds, syntax)
    _assert_same_as_pydicom(data)
    _assert_same_as_pydicom(data, lambda d: d.PixelData)  # decoded first: same bytes


def test_text_outside_ascii_and_code_extensions_go_to_pydicom_unchanged() -> None:
    ds = _base()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.InstitutionName = "Hôpital Café"
    data = _file(ds, ExplicitVRLittleEndian)
    _assert_same_as_pydicom(data, lambda d: setattr(d, "StudyDescription", "Étude"))
    ds = _base()
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    data = _file(ds, ExplicitVRLittleEndian)
    _assert_same_as_pydicom(data, lambda d: setattr(d, "StudyDescription", "plain"))
    _assert_same_as_pydicom(data, lambda d: setattr(d, "PatientName", "Yamada^Tarou"))


def test_numbers_tags_and_binary_values_are_encoded_in_the_syntax_byte_order() -> None:
    for syntax in (ExplicitVRLittleEndian, ExplicitVRBigEndian, ImplicitVRLittleEndian):
        data = _file(_base(), syntax)

        def edit(ds: Dataset) -> None:
            ds.Rows = 512
            ds.add_new(0x00280106, "US", 0)  # Smallest Image Pixel Value
            ds.add_new(0x00181310, "US", [0, 256, 256, 0])  # Acquisition Matrix
            ds.add_new(0x00189219, "FD", 1.5)
            ds.add_new(0x00200100, "IS", 7)
            ds.add_new(0x00281052, "DS", "-1024.0")
            ds.add_new(0x00209165, "AT", [0x00100010, 0x00100020])
            ds.add_new(0x00420011, "OB", b"\x01\x02\x03")
            ds.add_new(0x00281101, "US", [256, 0, 16])  # LUT descriptor: pydicom's rules

        _assert_same_as_pydicom(data, edit)


def test_empty_raw_values_are_decoded_as_pydicom_does() -> None:
    ds = _base()
    ds.add_new(0x00080050, "UN", None)  # an empty UN becomes its dictionary VR
    ds.add_new(0x00280106, "US", None)
    data = _file(ds, ExplicitVRLittleEndian)
    _assert_same_as_pydicom(data)


def test_file_meta_is_completed_like_dcmwrite() -> None:
    data = _file(_base(), ExplicitVRLittleEndian)

    def edit(ds: Dataset) -> None:
        del ds.file_meta.ImplementationVersionName
        del ds.file_meta.ImplementationClassUID
        ds.SOPInstanceUID = "2.25.999"

    encoded = _assert_same_as_pydicom(data, edit)
    meta = _read(encoded.data).file_meta
    assert meta.MediaStorageSOPInstanceUID == "2.25.999"
    assert meta.ImplementationVersionName.startswith("PYDICOM")


def test_the_data_set_is_not_modified() -> None:
    ds = _read(_file(_base(), ExplicitVRLittleEndian))
    keys = list(ds.keys())
    meta_keys = list(ds.file_meta.keys())
    encode_part10(ds)
    assert list(ds.keys()) == keys
    assert list(ds.file_meta.keys()) == meta_keys


def test_a_value_pydicom_cannot_write_raises_as_it_would() -> None:
    data = _file(_base(), ExplicitVRLittleEndian)
    ds = _read(data)
    ds.add_new(0x00280106, "US", "not a number")
    with pytest.raises(Exception) as ours:
        encode_part10(ds)
    ds = _read(data)
    ds.add_new(0x00280106, "US", "not a number")
    with pytest.raises(Exception) as theirs:
        pydicom.dcmwrite(BytesIO(), ds, enforce_file_format=True)
    assert type(ours.value) is type(theirs.value)


def test_the_pixel_data_bytes_are_not_copied_before_the_join() -> None:
    ds = _base()
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.SamplesPerPixel = 64, 64, 16, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = os.urandom(64 * 64 * 2)
    data = _file(ds, ExplicitVRLittleEndian)
    encoded = _assert_same_as_pydicom(data)
    assert encoded.data.endswith(_read(data).PixelData)


def _ref(uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedSOPInstanceUID = uid
    return item


def _code(value: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = "Basic Application Confidentiality Profile"
    return item


# -- property: random data sets, random edits ------------------------------------------

_ASCII = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="\\"),
    max_size=12,
)
_LATIN = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\\"),
    max_size=8,
)
_UIDS = st.from_regex(r"\A[1-9][0-9]{0,5}(\.[1-9][0-9]{0,5}){1,5}\Z")
_TEXT_TAGS = [
    (0x00081030, "LO"),
    (0x0008103E, "LO"),
    (0x00080080, "LO"),
    (0x00081010, "SH"),
    (0x00324000, "LT"),
]
_CS_TAGS = [(0x00080060, "CS"), (0x00180015, "CS"), (0x00102160, "SH")]
_US_TAGS = [(0x00280010, "US"), (0x00280011, "US"), (0x00280100, "US"), (0x00280101, "US")]
_UI_TAGS = [(0x00080018, "UI"), (0x0020000D, "UI"), (0x0020000E, "UI"), (0x00200052, "UI")]


@st.composite
def _elements(draw: st.DrawFn) -> list[tuple[int, str, object]]:
    chosen: dict[int, tuple[str, object]] = {}
    for tag, vr in draw(st.lists(st.sampled_from(_TEXT_TAGS), max_size=4)):
        values = draw(st.lists(st.one_of(_ASCII, _LATIN), min_size=0, max_size=3))
        chosen[tag] = (vr, values if len(values) != 1 else values[0])
    for tag, vr in draw(st.lists(st.sampled_from(_CS_TAGS), max_size=3)):
        chosen[tag] = (vr, draw(st.from_regex(r"\A[A-Z0-9_ ]{0,10}\Z")))
    for tag, vr in draw(st.lists(st.sampled_from(_US_TAGS), max_size=3)):
        chosen[tag] = (
            vr,
            draw(st.one_of(st.integers(0, 65535), st.lists(st.integers(0, 65535), max_size=3))),
        )
    for tag, vr in draw(st.lists(st.sampled_from(_UI_TAGS), max_size=3)):
        chosen[tag] = (vr, draw(st.one_of(_UIDS, st.just(""))))
    if draw(st.booleans()):
        items = []
        for _ in range(draw(st.integers(0, 3))):
            item = Dataset()
            item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
            item.ReferencedSOPInstanceUID = draw(_UIDS)
            if draw(st.booleans()):
                item.add_new(0x00081160, "IS", draw(st.integers(1, 99)))
            items.append(item)
        chosen[0x00081140] = ("SQ", Sequence(items))
    return [(tag, vr, value) for tag, (vr, value) in chosen.items()]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    original=_elements(),
    edits=_elements(),
    syntax=st.sampled_from([ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian]),
    charset=st.sampled_from([None, "ISO_IR 100", "ISO_IR 192"]),
    touch=st.lists(
        st.sampled_from([t for t, _ in _TEXT_TAGS + _CS_TAGS + _US_TAGS + _UI_TAGS]), max_size=4
    ),
    pixels=st.binary(max_size=33),
    deletions=st.lists(st.sampled_from([t for t, _ in _TEXT_TAGS + _US_TAGS]), max_size=3),
)
def test_random_data_sets_and_edits_are_written_as_dcmwrite_does(
    original: list[tuple[int, str, object]],
    edits: list[tuple[int, str, object]],
    syntax: str,
    charset: str | None,
    touch: list[int],
    pixels: bytes,
    deletions: list[int],
) -> None:
    ds = _base()
    if charset:
        ds.SpecificCharacterSet = charset
    for tag, vr, value in original:
        ds.add_new(tag, vr, value)
    if pixels:
        ds.add_new(0x7FE00010, "OB", pixels)
    try:
        data = _file(ds, syntax)
    except (UnicodeError, ValueError, AttributeError):
        return  # not a file a sender could make (text outside its charset, no SOP UID)

    def edit(target: Dataset) -> None:
        for tag in touch:
            if tag in target:
                _ = target[tag].value  # decoded but unchanged
        for tag in deletions:
            if tag in target:
                del target[tag]
        for tag, vr, value in edits:
            target[tag] = DataElement(tag, vr, value)

    try:
        reference = _reference(data, edit)
    except (UnicodeError, ValueError, TypeError, OverflowError) as exc:
        with pytest.raises(type(exc)):
            _ours(data, edit)
        return
    encoded = _ours(data, edit)
    assert encoded.data == reference
    assert encoded.fallback_reason is None


def test_untouched_elements_stay_raw_after_reading() -> None:
    # The premise of the fast path: pydicom leaves elements nobody read encoded.
    ds = _read(_file(_base(), ExplicitVRLittleEndian))
    assert isinstance(ds._dict[0x00100020], RawDataElement)
