"""Reading an incoming instance and deciding whether the node can take it.

Every check here runs on bytes in memory, before anything touches the disk,
and fails with a :class:`node.errors.DicomInputError` subclass that carries
the PS3.18 failure reason for the sender.
"""

from __future__ import annotations

from io import BytesIO
from typing import cast

import pydicom
from pydicom import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import (
    AllTransferSyntaxes,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    UncompressedTransferSyntaxes,
)

from node.dicom.raw_values import element_int, element_str, element_text
from node.errors import (
    FAILURE_DATASET_MISMATCH,
    FAILURE_SOP_CLASS_NOT_SUPPORTED,
    DicomInputError,
    InstanceTooLargeError,
    MissingAttributeError,
    NotDicomError,
    UnsupportedTransferSyntaxError,
)

__all__ = [
    "REQUIRED_KEYWORDS",
    "SUPPORTED_TRANSFER_SYNTAXES",
    "may_have_sop_class",
    "parse_instance",
]

SUPPORTED_TRANSFER_SYNTAXES = frozenset(str(uid) for uid in AllTransferSyntaxes)

_MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
_DEFLATED_UID = str(DeflatedExplicitVRLittleEndian).encode("ascii")
# A data set without a preamble must open with File Meta (0002) or Identifying (0008) group
# elements; anything else is some other file that pydicom's forced read made sense of.
_PLAUSIBLE_FIRST_GROUPS = (0x0002, 0x0008)

# Type 1 in every composite IOD; the node cannot file an instance without them.
REQUIRED_KEYWORDS = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
_SOP_CLASS_UID, _SOP_INSTANCE_UID = 0x00080016, 0x00080018
_REQUIRED_TAGS = (_SOP_CLASS_UID, _SOP_INSTANCE_UID, 0x0020000D, 0x0020000E)
_PIXEL_DATA = 0x7FE00010
# Rows, Columns, Samples per Pixel, Bits Allocated; Number of Frames; Photometric Interpretation.
_IMAGE_PIXEL_TAGS = (0x00280010, 0x00280011, 0x00280002, 0x00280100)
_NUMBER_OF_FRAMES, _PHOTOMETRIC_INTERPRETATION = 0x00280008, 0x00280004


def may_have_sop_class(data: bytes, sop_class_uid: str) -> bool:
    """Whether the encoded instance ``data`` may be of ``sop_class_uid`` (False is certain).

    A UID is ASCII in every transfer syntax, so an instance whose bytes never
    spell it is not of that class. Only a deflated data set hides it: any data
    that may be deflated answers True. A fraction of a parse's cost, for routing
    instances before parsing them.
    """
    if sop_class_uid.encode("ascii") in data:
        return True
    # The file meta, never deflated, names the transfer syntax; its group length
    # (first element, explicit VR little endian) says where it ends.
    meta_end = len(data)
    if data[128:140] == b"DICM\x02\x00\x00\x00UL\x04\x00":
        meta_end = 144 + int.from_bytes(data[140:144], "little")
    return data.find(_DEFLATED_UID, 0, meta_end) >= 0


def parse_instance(data: bytes, *, max_instance_bytes: int, require_part10: bool) -> Dataset:
    """Parse and validate one instance held in memory.

    Parameters
    ----------
    data
        The encoded instance.
    max_instance_bytes
        Instances larger than this are refused with 0xA700.
    require_part10
        Refuse data without the 128-byte preamble and ``DICM`` prefix, as
        STOW-RS (PS3.18 §10.5) requires; folder import and C-STORE relax it.

    Returns
    -------
    Dataset
        The fully loaded dataset, its file meta carrying the transfer syntax.
    """
    if len(data) > max_instance_bytes:
        raise InstanceTooLargeError(
            f"instance of {len(data)} bytes exceeds the node's limit of {max_instance_bytes} "
            "bytes (max_instance_bytes); raise the limit or send a smaller object"
        )
    has_preamble = len(data) >= 132 and data[128:132] == b"DICM"
    if require_part10 and not has_preamble:
        raise NotDicomError(
            "not a DICOM Part 10 file: no 'DICM' prefix after the 128-byte preamble; "
            "send the file with its File Meta Information"
        )
    try:
        # Element values are read now (so truncation shows) but converted only when
        # touched: de-identification touches what it must, and the encoder copies the
        # rest as raw bytes, which keeps ingest near raw pydicom I/O speed.
        ds = pydicom.dcmread(BytesIO(data), force=not has_preamble)
    except (InvalidDicomError, EOFError, ValueError, TypeError, KeyError, OSError) as exc:
        raise NotDicomError(f"not readable as DICOM (truncated or corrupt): {exc}") from exc
    except Exception as exc:  # pydicom raises many types on garbage; all mean the same here
        raise NotDicomError(f"not readable as DICOM: {type(exc).__name__}: {exc}") from exc
    if len(ds) == 0:
        raise NotDicomError("no data elements found: the file is empty or not DICOM")
    if not has_preamble and next(iter(ds.keys())).group not in _PLAUSIBLE_FIRST_GROUPS:
        raise NotDicomError(
            "not DICOM: no Part 10 preamble and no recognizable DICOM data elements"
        )
    if str(ds.file_meta.get("MediaStorageSOPClassUID", "")) == _MEDIA_STORAGE_DIRECTORY:
        raise DicomInputError(
            "a DICOMDIR is a media directory, not an instance; import the folder that holds it",
            failure_reason=FAILURE_SOP_CLASS_NOT_SUPPORTED,
        )
    _ensure_transfer_syntax(ds)
    # Read from the encoded bytes: decoding these would cost more than the checks.
    sop_class = element_text(ds, _SOP_CLASS_UID) or None
    sop_instance = element_text(ds, _SOP_INSTANCE_UID) or None
    for keyword, tag in zip(REQUIRED_KEYWORDS, _REQUIRED_TAGS, strict=True):
        if not element_text(ds, tag).strip():
            raise MissingAttributeError(
                f"{keyword} is missing or empty; the node cannot file an instance without it",
                attribute=keyword,
                sop_class_uid=sop_class,
                sop_instance_uid=sop_instance,
            )
    meta_class = ds.file_meta.get("MediaStorageSOPClassUID")
    if meta_class and str(meta_class) != sop_class:
        raise DicomInputError(
            f"File Meta MediaStorageSOPClassUID {meta_class} differs from the data set's "
            f"SOPClassUID {sop_class}",
            failure_reason=FAILURE_DATASET_MISMATCH,
            sop_class_uid=sop_class,
            sop_instance_uid=sop_instance,
        )
    _check_pixel_data_length(ds, sop_class, sop_instance)
    return ds


def _ensure_transfer_syntax(ds: Dataset) -> None:
    meta = ds.file_meta
    syntax = meta.get("TransferSyntaxUID")
    if syntax is None:
        implicit, little = ds.original_encoding
        if implicit:
            syntax = ImplicitVRLittleEndian
        else:
            syntax = ExplicitVRLittleEndian if little else ExplicitVRBigEndian
        meta.TransferSyntaxUID = syntax
    if str(syntax) not in SUPPORTED_TRANSFER_SYNTAXES:
        raise UnsupportedTransferSyntaxError(
            f"transfer syntax {syntax} is not supported; send the instance in a standard "
            "transfer syntax (e.g. Explicit VR Little Endian)",
            sop_class_uid=str(ds.get("SOPClassUID", "")) or None,
            sop_instance_uid=str(ds.get("SOPInstanceUID", "")) or None,
        )


def _expected_pixel_bytes(ds: Dataset) -> int | None:
    """The length pydicom's ``get_expected_length(ds, unit="bytes")`` gives, read cheaply.

    None when Rows, Columns, Samples per Pixel or Bits Allocated is missing or
    not one number.
    """
    values = [element_int(ds, tag) for tag in _IMAGE_PIXEL_TAGS]
    if any(value is None for value in values):
        return None
    rows, columns, samples, bits_allocated = cast(list[int], values)
    frames = element_int(ds, _NUMBER_OF_FRAMES)
    if frames is None and element_text(ds, _NUMBER_OF_FRAMES):
        return None  # a Number of Frames that is not a number: pydicom fails too
    length = rows * columns * samples * (frames or 1)
    if bits_allocated == 1:
        length = length // 8 + (length % 8 > 0)
    else:
        length *= bits_allocated // 8
    if element_str(ds, _PHOTOMETRIC_INTERPRETATION) == "YBR_FULL_422":
        length = length // 3 * 2
    return length


def _check_pixel_data_length(ds: Dataset, sop_class: str | None, sop_instance: str | None) -> None:
    """Refuse native pixel data shorter than its Rows x Columns x ... promise."""
    if "PixelData" not in ds or ds.file_meta.TransferSyntaxUID not in UncompressedTransferSyntaxes:
        return
    expected = _expected_pixel_bytes(ds)
    if expected is None:
        return  # incomplete Image Pixel module: the viewer reports it; storing is still safe
    pixel_data = ds.get_item(_PIXEL_DATA)  # its length, without decoding it
    actual = len(pixel_data.value or b"") if pixel_data is not None else 0
    if actual < expected:
        raise NotDicomError(
            f"Pixel Data holds {actual} bytes but the Image Pixel module (Rows, Columns, "
            f"SamplesPerPixel, BitsAllocated, NumberOfFrames) needs {expected}: the file is "
            "truncated",
            sop_class_uid=sop_class,
            sop_instance_uid=sop_instance,
        )
