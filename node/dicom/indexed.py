"""The attributes the store indexes, read from a de-identified dataset without decoding it.

:func:`indexed_attributes` gives exactly what
:meth:`node.store.InstanceAttributes.from_dataset` gives (``str()`` of each
decoded value, cut to its column's length; ``int()`` of numbers), reading raw
elements' bytes where :mod:`node.dicom.raw_values` knows pydicom's answer,
which saves decoding some twenty elements per instance.
"""

from __future__ import annotations

from pydicom import Dataset

from node.dicom.raw_values import element_int, element_str
from node.store import InstanceAttributes

__all__ = ["indexed_attributes"]

# (field, tag, column length), as InstanceAttributes.from_dataset reads them.
_TEXTS = (
    ("patient_id", 0x00100020, 64),
    ("patient_name", 0x00100010, 324),
    ("patient_birth_date", 0x00100030, 8),
    ("patient_sex", 0x00100040, 16),
    ("study_date", 0x00080020, 8),
    ("study_time", 0x00080030, 16),
    ("accession_number", 0x00080050, 16),
    ("study_id", 0x00200010, 16),
    ("study_description", 0x00081030, 64),
    ("referring_physician_name", 0x00080090, 324),
    ("modality", 0x00080060, 16),
    ("series_description", 0x0008103E, 64),
    ("body_part_examined", 0x00180015, 16),
    ("performed_procedure_step_start_date", 0x00400244, 8),
    ("frame_of_reference_uid", 0x00200052, 64),
)
_INTEGERS = (
    ("series_number", 0x00200011),
    ("instance_number", 0x00200013),
    ("rows", 0x00280010),
    ("columns", 0x00280011),
    ("bits_allocated", 0x00280100),
    ("number_of_frames", 0x00280008),
)
_UIDS = (
    ("study_instance_uid", 0x0020000D),
    ("series_instance_uid", 0x0020000E),
    ("sop_instance_uid", 0x00080018),
    ("sop_class_uid", 0x00080016),
)


def indexed_attributes(ds: Dataset, transfer_syntax_uid: str) -> InstanceAttributes:
    """The store's attributes of ``ds``, as ``InstanceAttributes.from_dataset`` reads them.

    Raises
    ------
    AttributeError
        When a UID the store needs is missing (as ``from_dataset`` does).
    """
    values: dict[str, object] = {}
    for name, tag in _UIDS:
        text = element_str(ds, tag)
        if text is None:
            if tag not in ds:
                raise AttributeError(f"the data set has no {name}")
            text = str(ds[tag].value)  # as from_dataset would (never reached after parsing)
        values[name] = text
    for name, tag, limit in _TEXTS:
        text = element_str(ds, tag)
        values[name] = "" if text is None else text[:limit]
    for name, tag in _INTEGERS:
        values[name] = element_int(ds, tag)
    return InstanceAttributes(transfer_syntax_uid=transfer_syntax_uid, **values)  # type: ignore[arg-type]
