"""Writing an edited dataset back as a Part 10 file, copying what nobody changed.

pydicom reads each data element as a ``RawDataElement`` (its encoded bytes)
and decodes it only when code asks for it. De-identification touches a few
dozen elements of an instance; :func:`encode_part10` writes every element it
did not touch as the bytes it arrived as (the pixel data included, which is
never copied before the final join), encodes the common replacement values
(strings, numbers, empty values, sequences) itself and hands any other element
to pydicom's own ``write_data_element``.

The result is byte for byte what ``pydicom.dcmwrite(ds, enforce_file_format=True)``
writes for the same dataset (the tests compare both across pydicom's test
files), at a fraction of the cost. Where the dataset is not one this can write
that way (a deflated transfer syntax, an encoding or character set changed
since reading, an element pydicom itself would rewrite), the whole dataset goes
to ``dcmwrite`` and :attr:`Encoded.fallback_reason` says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from operator import itemgetter
from struct import Struct
from typing import Any

import pydicom
from pydicom import Dataset
from pydicom.charset import convert_encodings
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_sequence_item
from pydicom.multival import MultiValue
from pydicom.tag import _LUT_DESCRIPTOR_TAGS
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32, STANDARD_VR, PersonName

__all__ = ["Encoded", "encode_part10"]

_PIXEL_DATA = 0x7FE00010
_SPECIFIC_CHARACTER_SET = 0x00080005
_UNDEFINED = 0xFFFFFFFF
_LONG_VRS = frozenset(str(vr) for vr in EXPLICIT_VR_LENGTH_32)
_KNOWN_VRS = frozenset(str(vr) for vr in STANDARD_VR)
# Codecs in which every ASCII character encodes as itself, alone (no escapes).
_ASCII_CODECS = frozenset({"iso8859", "latin_1", "UTF8", "utf_8", "GB18030", "GBK"})
_STRING_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "TM", "UR"})  # write_string
_TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UC", "UT"})  # write_text (charset)
_NUMBER_FORMATS = {
    "FD": "d",
    "FL": "f",
    "SL": "l",
    "SS": "h",
    "SV": "q",
    "UL": "L",
    "US": "H",
    "UV": "Q",
}
_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_NUMBER_STRING_TYPES = (str, int, float, Decimal)  # IS, DSfloat, DSdecimal and plain values
_META_DEFAULTS_IF_EMPTY = {
    0x00020001: ("OB", b"\x00\x01"),  # File Meta Information Version
    0x00020012: ("UI", UID(PYDICOM_IMPLEMENTATION_UID)),  # Implementation Class UID
}
_META_REQUIRED = (0x00020002, 0x00020003, 0x00020010)


@dataclass(frozen=True)
class Encoded:
    """A Part 10 file and, when pydicom's writer made it, why the fast path declined."""

    data: bytes
    fallback_reason: str | None = None


class _Decline(Exception):  # noqa: N818 - control flow, never escapes this module
    """The fast path cannot write this dataset exactly as dcmwrite would."""


def encode_part10(ds: Dataset) -> Encoded:
    """Encode ``ds`` (with its ``file_meta``) as a Part 10 file.

    The bytes equal ``pydicom.dcmwrite(..., enforce_file_format=True)``'s. The
    dataset is not modified.

    Raises
    ------
    ValueError, TypeError, AttributeError, struct.error
        When pydicom cannot encode the dataset either (as ``dcmwrite`` would).
    """
    try:
        return Encoded(_fast(ds))
    except _Decline as exc:
        reason = str(exc)
    buffer = BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return Encoded(buffer.getvalue(), reason)


def _fast(ds: Dataset) -> bytes:
    meta = getattr(ds, "file_meta", None)
    if meta is None or 0x00020010 not in meta:
        raise _Decline("no File Meta Transfer Syntax UID")
    syntax = UID(str(meta[0x00020010].value))
    if not syntax.is_transfer_syntax or syntax.is_private:
        raise _Decline(f"transfer syntax {syntax} is not a standard one")
    if syntax.is_deflated:
        raise _Decline("deflated transfer syntax: the data set is compressed as a whole")
    encoding = (syntax.is_implicit_VR, syntax.is_little_endian)
    if encoding == (True, False):
        raise _Decline("implicit VR big endian")
    if ds.original_encoding != encoding:
        raise _Decline(
            f"the data set was read as {ds.original_encoding}, not in its transfer syntax's "
            f"encoding {encoding}: pydicom converts it"
        )
    if ds.original_character_set != ds._character_set:
        raise _Decline("Specific Character Set changed since reading: pydicom re-encodes text")
    if any(tag >> 16 in (0, 2) for tag in ds._dict):
        raise _Decline("command or file meta elements inside the data set")
    preamble = getattr(ds, "preamble", None)
    if preamble and len(preamble) != 128:
        raise _Decline("preamble is not 128 bytes")
    chunks: list[Any] = [preamble or b"\x00" * 128, b"DICM"]
    chunks.append(_file_meta(ds, meta))
    writer = _Writer(*encoding, compressed=syntax.is_compressed)
    writer.dataset(ds, "iso8859", chunks, top=True)
    return b"".join(chunks)


def _file_meta(ds: Dataset, meta: Dataset) -> bytes:
    """File meta as dcmwrite writes it: UIDs brought up to date, defaults, group length."""
    converts = meta.original_encoding not in ((False, True), (None, None)) or (
        meta.original_character_set != meta._character_set
    )
    if converts and any(isinstance(e, RawDataElement) for e in meta._dict.values()):
        raise _Decline("file meta read in an unusual encoding")
    elements: dict[int, DataElement | RawDataElement] = {
        int(tag): element for tag, element in meta._dict.items()
    }
    if any(tag >> 16 != 2 for tag in elements):
        raise _Decline("non-group-2 element in file meta")
    for meta_tag, ds_keyword in ((0x00020002, "SOPClassUID"), (0x00020003, "SOPInstanceUID")):
        current = meta.get(meta_tag)
        ds_value = ds.get(ds_keyword)
        if current is None or (ds_value and ds_value != current.value):
            elements[meta_tag] = DataElement(meta_tag, "UI", ds_value)
    for tag, (vr, value) in _META_DEFAULTS_IF_EMPTY.items():
        if tag not in elements or meta[tag].is_empty:
            elements[tag] = DataElement(tag, vr, value)
    if 0x00020013 not in elements:
        version = ".".join(pydicom.__version_info__)
        elements[0x00020013] = DataElement(0x00020013, "SH", f"PYDICOM {version}")
    for tag in _META_REQUIRED:
        element = elements.get(tag)
        if isinstance(element, RawDataElement):
            element = meta[tag]  # still the original: decode it to judge emptiness
        if element is None or element.is_empty:
            raise _Decline("required file meta element missing or empty")
    elements.pop(0x00020000, None)
    body: list[Any] = []
    writer = _Writer(False, True, compressed=False)
    writer.elements(meta, sorted(elements.items()), "iso8859", True, body, top=False)
    encoded = b"".join(body)
    return b"\x02\x00\x00\x00UL\x04\x00" + len(encoded).to_bytes(4, "little") + encoded


class _Writer:
    """Encodes data sets in one transfer syntax's encoding into a list of byte chunks."""

    def __init__(self, implicit: bool, little: bool, *, compressed: bool) -> None:
        self.implicit = implicit
        self.little = little
        self.compressed = compressed
        endian = "<" if little else ">"
        self.endian = endian
        self._tag_length = Struct(f"{endian}HHL").pack
        self._short = Struct(f"{endian}HH2sH").pack
        self._long = Struct(f"{endian}HH2s2xL").pack
        self._item_tag = Struct(f"{endian}HH").pack(0xFFFE, 0xE000)
        self._sequence_end = self._tag_length(0xFFFE, 0xE0DD, 0)
        self._item_end = self._tag_length(0xFFFE, 0xE00D, 0)

    def header(self, tag: int, vr: str, length: int) -> bytes:
        """Tag, VR (explicit) and length of one element."""
        if self.implicit:
            return self._tag_length(tag >> 16, tag & 0xFFFF, length)
        if vr in _LONG_VRS:
            return self._long(tag >> 16, tag & 0xFFFF, vr.encode(), length)
        if length == _UNDEFINED or length > 0xFFFF:
            raise _Decline(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {vr} too long for its VR")
        return self._short(tag >> 16, tag & 0xFFFF, vr.encode(), length)

    def dataset(self, ds: Dataset, parent_encoding: Any, out: list[Any], *, top: bool) -> int:
        """Append ``ds``'s elements to ``out``; return the bytes appended."""
        elements = ds._dict
        if _SPECIFIC_CHARACTER_SET in elements:
            encodings = ds[_SPECIFIC_CHARACTER_SET].value or parent_encoding
        else:
            encodings = parent_encoding
        codecs = convert_encodings(encodings or ["iso8859"])
        ascii_text = len(codecs) == 1 and codecs[0] in _ASCII_CODECS
        # Plain ints: pydicom's BaseTag compares in Python.
        items = [(int(tag), element) for tag, element in elements.items()]
        items.sort(key=itemgetter(0))  # already in order, as a rule: linear
        return self.elements(ds, items, encodings, ascii_text, out, top=top)

    def elements(
        self,
        ds: Dataset,
        items: list[tuple[int, DataElement | RawDataElement]],
        encodings: Any,
        ascii_text: bool,
        out: list[Any],
        *,
        top: bool,
    ) -> int:
        """Append ``ds``'s elements ``items``, in tag order, to ``out``; return the bytes."""
        written = 0
        for tag, element in items:
            if tag & 0xFFFF == 0 and tag >> 16 > 6:
                continue  # group lengths are not written (PS3.5 7.2)
            if isinstance(element, RawDataElement) and element.value is None:
                element = ds[tag]  # pydicom decodes these (an empty UN gets its VR)
            if isinstance(element, RawDataElement):
                written += self._raw(element, tag, out, top)
            else:
                written += self._element(element, tag, encodings, ascii_text, out, top)
        return written

    def _raw(self, raw: RawDataElement, tag: int, out: list[Any], top: bool) -> int:
        vr = raw.VR
        value = raw.value or b""
        undefined = raw.length == _UNDEFINED
        if not self.implicit and vr not in _KNOWN_VRS:
            raise _Decline(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) has no standard VR")
        pad = b""
        if top and tag == _PIXEL_DATA:
            # dcmwrite decodes Pixel Data to mark its length (un)defined by the syntax.
            if undefined != self.compressed or (not self.implicit and vr not in ("OB", "OW")):
                raise _Decline("Pixel Data length or VR does not match the transfer syntax")
            if undefined and not value.startswith(self._item_tag):
                raise _Decline("encapsulated Pixel Data without items")
            pad = b"\x00" if len(value) % 2 else b""
        if undefined:
            out += (self.header(tag, vr or "", _UNDEFINED), value, self._sequence_end)
            return 20 + len(value) if not self.implicit else 16 + len(value)
        length = len(value) + len(pad)
        head = self.header(tag, vr or "", length)
        out += (head, value, pad) if pad else (head, value)
        return len(head) + length

    def _element(
        self,
        element: DataElement,
        tag: int,
        encodings: Any,
        ascii_text: bool,
        out: list[Any],
        top: bool,
    ) -> int:
        vr = element.VR
        if vr == "SQ" and not element.is_buffered:
            return self._sequence(element, tag, encodings, out)
        if top and tag == _PIXEL_DATA:
            return self._pixel_data(element, tag, out)
        value: bytes | None = None
        if element.is_undefined_length or (not self.implicit and len(vr) != 2):
            value = None  # pydicom's own rules (delimiters, errors) apply
        elif element.is_empty:
            value = b""
        elif vr in _NUMBER_FORMATS:
            value = _pack_numbers(element, vr, self.endian)
        else:
            value = _value_bytes(element, vr, ascii_text)
        if value is None or (
            not self.implicit and vr not in _LONG_VRS and len(value) > 0xFFFF
        ):  # the latter: pydicom rewrites the VR as UN
            return self._delegate(element, encodings, out)
        head = self.header(tag, vr, len(value))
        out += (head, value)
        return len(head) + len(value)

    def _pixel_data(self, element: DataElement, tag: int, out: list[Any]) -> int:
        value = element.value
        if not isinstance(value, bytes) or (not self.implicit and element.VR not in ("OB", "OW")):
            raise _Decline("top-level Pixel Data that is not plain bytes")
        if self.compressed and not value.startswith(self._item_tag):
            raise _Decline("encapsulated Pixel Data without items")
        pad = b"\x00" if len(value) % 2 else b""
        if self.compressed:
            out += (self.header(tag, element.VR, _UNDEFINED), value, pad, self._sequence_end)
            return (16 if self.implicit else 20) + len(value) + len(pad)
        head = self.header(tag, element.VR, len(value) + len(pad))
        out += (head, value, pad)
        return len(head) + len(value) + len(pad)

    def _sequence(self, element: DataElement, tag: int, encodings: Any, out: list[Any]) -> int:
        body: list[Any] = []
        length = 0
        for item in element.value or ():
            length += self._item(item, encodings, body)
        undefined = element.is_undefined_length
        head = self.header(tag, "SQ", _UNDEFINED if undefined else length)
        out.append(head)
        out += body
        if undefined:
            out.append(self._sequence_end)
            return len(head) + length + 8
        return len(head) + length

    def _item(self, item: Dataset, encodings: Any, out: list[Any]) -> int:
        converts = (
            item.original_encoding != (self.implicit, self.little)
            or item.original_character_set != item._character_set
        )
        if converts and not _plain(item):
            # pydicom decodes and re-encodes such an item: let it.
            buffer = DicomBytesIO()
            buffer.is_implicit_VR, buffer.is_little_endian = self.implicit, self.little
            write_sequence_item(buffer, item, convert_encodings(encodings or ["iso8859"]))
            data = buffer.getvalue()
            out.append(data)
            return len(data)
        start = len(out)
        out.append(b"")
        length = self.dataset(item, encodings, out, top=False)
        if getattr(item, "is_undefined_length_sequence_item", False):
            out[start] = self._tag_length(0xFFFE, 0xE000, _UNDEFINED)
            out.append(self._item_end)
            return 16 + length
        out[start] = self._tag_length(0xFFFE, 0xE000, length)
        return 8 + length

    def _delegate(self, element: DataElement, encodings: Any, out: list[Any]) -> int:
        buffer = DicomBytesIO()
        buffer.is_implicit_VR, buffer.is_little_endian = self.implicit, self.little
        write_data_element(buffer, element, encodings)
        data = buffer.getvalue()
        out.append(data)
        return len(data)


def _plain(item: Dataset) -> bool:
    """Whether pydicom's re-encoding of ``item`` changes nothing: decoded, unambiguous VRs."""
    for element in item._dict.values():
        if isinstance(element, RawDataElement) or " or " in element.VR:
            return False
        if element.VR == "SQ" and not all(_plain(i) for i in element.value or ()):
            return False
    return True


def _value_bytes(element: DataElement, vr: str, ascii_text: bool) -> bytes | None:
    """The encoded value of a decoded, non-empty element in the common cases, else None.

    Mirrors pydicom's writers: values joined by backslashes, padded to even
    length (UI with NUL, the other strings with a space, binary with NUL). None
    sends the element to pydicom's writer.
    """
    value = element.value
    if vr in _BINARY_VRS:
        if type(value) is bytes:
            return value + b"\x00" if len(value) % 2 else value
        return None
    if vr in ("IS", "DS"):
        numbers = value if isinstance(value, MultiValue | list | tuple) else (value,)
        if not all(isinstance(x, _NUMBER_STRING_TYPES) for x in numbers):
            return None
        text = "\\".join(
            x.original_string if hasattr(x, "original_string") else str(x) for x in numbers
        )
        return _ascii(text, b" ")
    if vr == "UI" or vr in _STRING_VRS:
        joined = _joined(value)
        return None if joined is None else _ascii(joined, b"\x00" if vr == "UI" else b" ")
    if not ascii_text:
        return None
    if vr in _TEXT_VRS:
        joined = _joined(value)
        return None if joined is None else _ascii(joined, b" ")
    if vr == "PN":
        names = value if isinstance(value, MultiValue | list | tuple) else (value,)
        parts: list[str] = []
        for name in names:
            if not isinstance(name, PersonName) or name.original_string is not None:
                return None
            parts.append(str(name))
        return _ascii("\\".join(parts), b" ")
    return None


def _joined(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, MultiValue | list | tuple) and all(isinstance(v, str) for v in value):
        return "\\".join(value)
    return None


def _ascii(text: str, pad: bytes) -> bytes | None:
    if not text.isascii():
        return None
    data = text.encode("ascii")
    return data + pad if len(data) % 2 else data


def _pack_numbers(element: DataElement, vr: str, endian: str) -> bytes | None:
    """Binary numbers as pydicom's ``write_numbers`` packs them (None: let it)."""
    value = element.value
    fmt = _NUMBER_FORMATS[vr]
    try:
        if type(value) in (int, float):
            return Struct(endian + fmt).pack(value)
        if type(value) in (MultiValue, list) and element.tag not in _LUT_DESCRIPTOR_TAGS:
            return Struct(f"{endian}{len(value)}{fmt}").pack(*value)
    except Exception:
        return None  # pydicom reports it in its own words
    return None
