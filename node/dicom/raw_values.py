"""Reading and replacing element values while they are still encoded.

pydicom keeps each element it read as a ``RawDataElement`` (its bytes) and
decodes it on first access: value objects, validation, character sets, tens of
microseconds an element. Ingest reads a dozen values and replaces a few dozen
per instance, so it works on the bytes where the answer is certain:

- :func:`element_text` gives exactly the text pydicom's decoding gives
  (``str(value)`` without padding) and decodes through pydicom in any case it
  does not handle itself (several values, code extensions, bytes its character
  set cannot decode, VRs whose text pydicom reformats);
- :func:`encoded_text` and :func:`encoded_empty` build the replacement as a raw
  element in the data set's own encoding, which the Part 10 writer
  (:mod:`node.dicom.part10`) copies as it is, and pydicom decodes like any
  element read from a file.
"""

from __future__ import annotations

from pydicom import Dataset, config
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.tag import BaseTag

__all__ = ["element_int", "element_str", "element_text", "encoded_empty", "encoded_text"]

# VRs pydicom decodes in its default character set, as text without trailing
# padding (IS and DS become numbers, PN a name object: those go through pydicom).
_PLAIN_STRING_VRS = frozenset({"AS", "CS", "DA", "DT", "TM"})
_DEFAULT_CHARSET_VRS = _PLAIN_STRING_VRS | {"AE", "UI"}
# VRs decoded in the data set's character set, split on backslashes.
_TEXT_VRS = frozenset({"LO", "SH"})
_ISO_2022 = "iso2022"


def element_text(ds: Dataset, tag: int) -> str:
    """Return ``str(ds[tag].value)`` without leading or trailing spaces and NULs.

    "" when the element is absent or has no value. Elements still raw are read
    from their bytes when that gives pydicom's answer exactly, and are left
    raw; otherwise pydicom decodes them.
    """
    text = element_str(ds, tag)
    return "" if text is None else text.strip(" \x00")


def element_str(ds: Dataset, tag: int) -> str | None:
    """Return exactly ``str(ds[tag].value)``, or None when the element is absent or None.

    Raw elements are read from their bytes where that gives pydicom's answer
    and stay raw; otherwise pydicom decodes them.
    """
    element = ds.get_item(tag)
    if element is None:
        return None
    if isinstance(element, RawDataElement):
        text = _raw_str(ds, element, tag)
        if text is not None:
            return text
        element = ds[tag]
    value = element.value
    return None if value is None else str(value)


def element_int(ds: Dataset, tag: int) -> int | None:
    """Return ``int(ds[tag].value)``: None when absent, empty or not one integer.

    A raw US, UL, SS or SL element of one value is read from its bytes.
    """
    element = ds.get_item(tag)
    if element is None:
        return None
    if isinstance(element, RawDataElement) and element.value is not None:
        size = _BINARY_INTEGERS.get(element.VR or _dictionary_vr(tag) or "")
        if size is not None and len(element.value) == size[0]:
            return int.from_bytes(
                element.value, "little" if element.is_little_endian else "big", signed=size[1]
            )
    value = ds[tag].value
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


_BINARY_INTEGERS = {"US": (2, False), "UL": (4, False), "SS": (2, True), "SL": (4, True)}


def _dictionary_vr(tag: int) -> str | None:
    try:
        return dictionary_VR(tag)
    except KeyError:
        return None


def _raw_str(ds: Dataset, raw: RawDataElement, tag: int) -> str | None:
    """``str()`` of pydicom's decoding of ``raw`` (see pydicom.values), or None: let pydicom."""
    value = raw.value
    if value is None:
        return None  # deferred or empty: pydicom's rules
    vr = raw.VR or _dictionary_vr(tag)  # implicit VR: pydicom looks the VR up
    if vr is None or b"\\" in value or b"\x1b" in value:
        return None  # unknown, several values (a list), or code extensions
    if vr in _PLAIN_STRING_VRS:
        if config.datetime_conversion and vr in ("DA", "DT", "TM"):
            return None  # pydicom makes date and time objects
        return value.decode("latin-1").rstrip(" \x00")
    if vr == "UI":
        return value.decode("latin-1").rstrip(" \x00").strip()  # UID() strips
    if vr == "AE":
        return value.decode("latin-1").strip()
    if vr not in _TEXT_VRS:
        return None
    codecs = ds._character_set  # pydicom's codec names: one string, or a list
    codec = codecs if isinstance(codecs, str) else codecs[0] if len(codecs) == 1 else None
    if codec is None or codec.startswith(_ISO_2022):
        return None
    try:
        return value.decode(codec).rstrip("\x00 ")
    except (UnicodeError, LookupError):
        return None  # pydicom warns and replaces, or raises, per its settings


def _encoding(ds: Dataset) -> tuple[bool, bool] | None:
    implicit, little = ds.original_encoding
    if implicit is None or little is None:
        return None  # built in memory: no encoding yet
    return implicit, little


def encoded_text(ds: Dataset, tag: int, vr: str, text: str) -> RawDataElement | None:
    """``text`` as a raw element of ``ds``'s encoding, or None (use a DataElement).

    Only for single ASCII values of a VR that pads with a space (or UI, with a
    NUL); the bytes are those pydicom's writer would produce.
    """
    encoding = _encoding(ds)
    if encoding is None or not text.isascii() or "\\" in text:
        return None
    if vr not in _DEFAULT_CHARSET_VRS and vr not in _TEXT_VRS and vr != "PN":
        return None
    data = text.encode("ascii")
    if len(data) % 2:
        data += b"\x00" if vr == "UI" else b" "
    implicit, little = encoding
    return RawDataElement(
        BaseTag(tag), None if implicit else vr, len(data), data, 0, implicit, little
    )


def encoded_empty(ds: Dataset, tag: int, vr: str) -> RawDataElement | None:
    """An empty (zero-length) raw element of ``ds``'s encoding, or None when it has none."""
    encoding = _encoding(ds)
    if encoding is None:
        return None
    implicit, little = encoding
    return RawDataElement(BaseTag(tag), None if implicit else vr, 0, b"", 0, implicit, little)
