"""Marking a de-identified dataset as such (PS3.15 E.1.1, PS3.3 C.12.1 and CID 7050)."""

from __future__ import annotations

from pydicom import Dataset, config
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.sequence import Sequence
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32

from node.dicom.deid.options import DeidOptions

__all__ = ["DEID_METHOD_CODES", "encoded_marks", "mark_deidentified"]

# CID 7050 "De-identification Method", coding scheme DCM.
DEID_METHOD_CODES: dict[str, str] = {
    "113100": "Basic Application Confidentiality Profile",
    "113107": "Retain Longitudinal Temporal Information Modified Dates Option",
    "113108": "Retain Patient Characteristics Option",
    "113111": "Retain Safe Private Option",
}


def _set(ds: Dataset, tag: int, vr: str, value: object) -> None:
    # Values here are constants known to be valid: skip pydicom's per-value validation.
    ds[tag] = DataElement(tag, vr, value, validation_mode=config.IGNORE)


def _code_item(value: str) -> Dataset:
    item = Dataset()
    _set(item, 0x00080100, "SH", value)  # Code Value
    _set(item, 0x00080102, "SH", "DCM")  # Coding Scheme Designator
    _set(item, 0x00080104, "LO", DEID_METHOD_CODES[value])  # Code Meaning
    return item


def mark_deidentified(ds: Dataset, options: DeidOptions, *, table_edition: str) -> None:
    """Record in ``ds`` that it was de-identified, how, and with which options.

    Sets Patient Identity Removed (YES), De-identification Method (one LO value
    per profile or option, each under 64 characters), De-identification Method
    Code Sequence (CID 7050; 113111 when a private safe-list is set) and
    Longitudinal Temporal Information Modified (MODIFIED with the dates option,
    else REMOVED).
    """
    codes = ["113100"]
    methods = [f"PS3.15 E.1 Basic Profile ({table_edition}), keyed pseudonyms"]
    if options.retain_longitudinal_modified_dates:
        codes.append("113107")
        methods.append("Retain Longitudinal Temporal Information Modified Dates")
    if options.retain_patient_characteristics:
        codes.append("113108")
        methods.append("Retain Patient Characteristics")
    if options.private_tag_safelist:
        codes.append("113111")
        methods.append("Retain Safe Private (site safe-list)")
    _set(ds, 0x00120062, "CS", "YES")  # Patient Identity Removed
    _set(ds, 0x00120063, "LO", methods)  # De-identification Method
    _set(ds, 0x00120064, "SQ", Sequence([_code_item(code) for code in codes]))
    _set(  # Longitudinal Temporal Information Modified
        ds,
        0x00280303,
        "CS",
        "MODIFIED" if options.retain_longitudinal_modified_dates else "REMOVED",
    )


def encoded_marks(
    options: DeidOptions, *, table_edition: str, implicit: bool, little: bool
) -> tuple[RawDataElement, ...]:
    """The elements :func:`mark_deidentified` sets, encoded for one transfer syntax encoding.

    The values are the same for every instance of a site, so the
    de-identifier encodes them once per encoding and adds them to each data
    set read in that encoding as raw elements (copied as they are on writing,
    decoded by pydicom like any element read from a file). Every value is
    ASCII, which encodes alike in every DICOM character set.
    """
    marks = Dataset()
    mark_deidentified(marks, options, table_edition=table_edition)
    encoded = []
    for element in marks:
        buffer = DicomBytesIO()
        buffer.is_implicit_VR, buffer.is_little_endian = implicit, little
        write_data_element(buffer, element)
        header = 8 if implicit or element.VR not in EXPLICIT_VR_LENGTH_32 else 12
        value = buffer.getvalue()[header:]
        vr = None if implicit else element.VR
        encoded.append(RawDataElement(element.tag, vr, len(value), value, 0, implicit, little))
    return tuple(encoded)
