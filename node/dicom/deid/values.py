"""Replacement values by VR: the dummy for action D and the empty value for action Z.

A dummy is a valid value of its VR that carries no information about the
original (PS3.15 E.1.1 "D": "a non-zero length value that may be a dummy value
and consistent with the VR").
"""

from __future__ import annotations

from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement

from node.dicom.deid.dates import DUMMY_DA, DUMMY_DT, DUMMY_TM

__all__ = ["DUMMY_TEXT", "dummy_value", "empty_value", "is_empty", "value_representation"]

DUMMY_TEXT = "DEIDENTIFIED"

_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_DUMMIES: dict[str, object] = {
    "AE": DUMMY_TEXT,
    "AS": "000Y",
    "AT": 0,
    "CS": DUMMY_TEXT,
    "DA": DUMMY_DA,
    "DS": "0",
    "DT": DUMMY_DT,
    "FD": 0.0,
    "FL": 0.0,
    "IS": "0",
    "LO": DUMMY_TEXT,
    "LT": DUMMY_TEXT,
    "PN": DUMMY_TEXT,
    "SH": DUMMY_TEXT,
    "SL": 0,
    "SS": 0,
    "ST": DUMMY_TEXT,
    "SV": 0,
    "TM": DUMMY_TM,
    "UC": DUMMY_TEXT,
    "UL": 0,
    "UR": "urn:deidentified",
    "US": 0,
    "UT": DUMMY_TEXT,
    "UV": 0,
}


def value_representation(elem: DataElement | RawDataElement, tag: int) -> str:
    """Return the element's VR: as encoded, else from the dictionary; ambiguity resolved."""
    vr = elem.VR
    if not vr or " or " in vr:
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            vr = vr or "UN"
    return vr.split(" or ")[0]


def is_empty(elem: DataElement | RawDataElement) -> bool:
    """Return whether the element has zero length (or only padding)."""
    if isinstance(elem, RawDataElement):
        return elem.value is None or not elem.value.strip(b" \x00")
    if elem.VR == "SQ":
        return len(elem.value) == 0
    value = elem.value
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip(" \x00")
    if isinstance(value, bytes):
        return not value.strip(b" \x00")
    return elem.is_empty


def dummy_value(vr: str) -> object:
    """Return the dummy for ``vr`` (never used for SQ or UI, which have their own rules)."""
    if vr in _BINARY_VRS:
        return b"\x00" * 8
    return _DUMMIES.get(vr, DUMMY_TEXT)


def empty_value(vr: str) -> object:
    """Return the zero-length value for ``vr``."""
    if vr == "SQ":
        return []
    if vr in _BINARY_VRS:
        return b""
    return None
