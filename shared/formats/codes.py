"""Coded concepts for guideline labels in DICOM SEG and SR.

A guideline label is a free name ("nodule"). Where a SNOMED CT concept fits the
name it is used (Nodule, Lesion, Mass, Neoplasm, Tissue, under the category
Morphologically Abnormal Structure or Tissue); any other label gets a code in
Harmonia's private coding scheme :data:`HARMONIA_SCHEME` (code value = the
label name, meaning = the label name) under the generic category Tissue.
Classification values are coded the same private way.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

__all__ = [
    "HARMONIA_SCHEME",
    "LabelCoding",
    "coding_scheme_identification",
    "label_coding",
    "person_name",
    "source_person_names",
    "value_code",
]

HARMONIA_SCHEME = "99HARMONIA"
"""Private coding scheme designator (``99`` prefix = local scheme, PS3.16 8.1)."""

_ABNORMAL = codes.SCT.MorphologicallyAbnormalStructure
_KNOWN: dict[str, tuple[Code, Code]] = {
    "lesion": (_ABNORMAL, codes.SCT.Lesion),
    "mass": (_ABNORMAL, codes.SCT.Mass),
    "neoplasm": (_ABNORMAL, codes.SCT.Neoplasm),
    "nodule": (_ABNORMAL, codes.SCT.Nodule),
    "tissue": (codes.SCT.Tissue, codes.SCT.Tissue),
    "tumor": (_ABNORMAL, codes.SCT.Neoplasm),
    "tumour": (_ABNORMAL, codes.SCT.Neoplasm),
}


@dataclass(frozen=True)
class LabelCoding:
    """How one label is coded: the segmented property category and type."""

    category: Code
    type: Code


def label_coding(label: str) -> LabelCoding:
    """Return the category and type codes for a guideline label name.

    The name, or else its first word (words split on ``-``, ``_``, ``.`` and
    spaces), is matched case-insensitively, ignoring a plural ``s``:
    "Nodules" and "nodule-mask" → SCT 27925004 Nodule.
    """
    key = label.strip().lower()
    for word in (key, *re.split(r"[-_. ]+", key)):
        known = _KNOWN.get(word) or _KNOWN.get(word.removesuffix("s"))
        if known is not None:
            return LabelCoding(category=known[0], type=known[1])
    return LabelCoding(
        category=codes.SCT.Tissue,
        type=Code(value=label, scheme_designator=HARMONIA_SCHEME, meaning=label),
    )


def value_code(label: str, value: str) -> Code:
    """Return the private code of classification ``value`` of ``label`` (e.g. BI-RADS "4")."""
    return Code(value=value, scheme_designator=HARMONIA_SCHEME, meaning=f"{label} {value}")


def person_name(name: str) -> str:
    """Return a user name as a DICOM PN: a single name becomes a family name (``"alice^"``).

    A name that already holds a caret or ``=`` is taken to be a PN and kept;
    backslashes (the value separator) become spaces.
    """
    if "^" in name or "=" in name:
        return name
    cleaned = name.replace("\\", " ").strip() or "unknown"
    return f"{cleaned[:63]}^"


def coding_scheme_identification() -> Dataset:
    """Return the CodingSchemeIdentificationSequence item that declares :data:`HARMONIA_SCHEME`."""
    item = Dataset()
    item.CodingSchemeDesignator = HARMONIA_SCHEME
    item.CodingSchemeName = "Harmonia guideline labels and categories"
    item.CodingSchemeResponsibleOrganization = "Harmonia"
    return item


@contextmanager
def source_person_names() -> Iterator[None]:
    """Let highdicom copy the source's person names as they are, without a warning.

    De-identified series carry one-component names (``HN-...``); highdicom warns
    about each one it copies into a derived object. The names are the source's,
    so they are kept, quietly.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"The string .* is unlikely to represent the intended person name"
        )
        yield
