"""The DICOM JSON model (PS3.18 Annex F.2) of QIDO-RS results.

Study, series and instance result objects carry the default return
attributes of PS3.18 Tables 10.6.3-3/4/5 from the store's index, with their
proper VRs: person names as ``{"Alphabetic": ...}``, IS and US values as
numbers, and empty values as an element with no ``"Value"``. Attributes the
index does not hold (``includefield``) come from one stored header through
:func:`header_attributes`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.tag import BaseTag

from node.store.records import InstanceRecord, SeriesRecord, StudyRecord

__all__ = [
    "BINARY_VRS",
    "SERIES_ALL_KEYWORDS",
    "STUDY_ALL_KEYWORDS",
    "element",
    "header_attributes",
    "instance_json",
    "instance_url",
    "series_json",
    "series_url",
    "sorted_json",
    "study_json",
    "study_url",
]

JsonObject = dict[str, Any]

BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_INLINE_LIMIT = 1024
_INTEGER_VRS = {"IS", "US", "UL", "SS", "SL", "UV", "SV"}

# What includefield=all adds at the study and series levels (from a stored header).
STUDY_ALL_KEYWORDS = (
    "IssuerOfPatientID",
    "OtherPatientIDs",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "EthnicGroup",
    "PatientComments",
    "InstitutionName",
    "NameOfPhysiciansReadingStudy",
    "AdmittingDiagnosesDescription",
    "TimezoneOffsetFromUTC",
)
SERIES_ALL_KEYWORDS = (
    "SeriesDate",
    "SeriesTime",
    "Laterality",
    "ProtocolName",
    "PerformedProcedureStepStartTime",
    "PerformedProcedureStepDescription",
    "FrameOfReferenceUID",
    "Manufacturer",
    "ManufacturerModelName",
    "StationName",
    "PatientPosition",
    "OperatorsName",
)


def study_url(base_url: str, study_uid: str) -> str:
    """The WADO-RS URL of a study under ``base_url`` (which ends in ``/``)."""
    return f"{base_url}dicom-web/studies/{study_uid}"


def series_url(base_url: str, study_uid: str, series_uid: str) -> str:
    """The WADO-RS URL of a series."""
    return f"{study_url(base_url, study_uid)}/series/{series_uid}"


def instance_url(base_url: str, study_uid: str, series_uid: str, sop_uid: str) -> str:
    """The WADO-RS URL of an instance."""
    return f"{series_url(base_url, study_uid, series_uid)}/instances/{sop_uid}"


def element(vr: str, value: Any) -> JsonObject:
    """One DICOM JSON attribute object; ``None``, ``""`` and ``()`` give no ``"Value"``.

    A list or tuple is a multi-valued attribute; PN values become
    ``{"Alphabetic": ...}`` objects and IS/US values JSON numbers.
    """
    values = list(value) if isinstance(value, list | tuple) else [value]
    values = [v for v in values if v is not None and v != ""]
    if not values:
        return {"vr": vr}
    if vr == "PN":
        return {"vr": vr, "Value": [{"Alphabetic": str(v)} for v in values]}
    if vr in _INTEGER_VRS:
        return {"vr": vr, "Value": [int(v) for v in values]}
    return {"vr": vr, "Value": [str(v) for v in values]}


def sorted_json(attributes: JsonObject) -> JsonObject:
    """The same object with its attributes in ascending tag order."""
    return dict(sorted(attributes.items()))


def _study_attributes(study: StudyRecord) -> JsonObject:
    return {
        "00080020": element("DA", study.study_date),
        "00080030": element("TM", study.study_time),
        "00080050": element("SH", study.accession_number),
        "00080090": element("PN", study.referring_physician_name),
        "00081030": element("LO", study.study_description),
        "00100010": element("PN", study.patient_name),
        "00100020": element("LO", study.patient_id),
        "00100030": element("DA", study.patient_birth_date),
        "00100040": element("CS", study.patient_sex),
        "0020000D": element("UI", study.study_instance_uid),
        "00200010": element("SH", study.study_id),
    }


def study_json(study: StudyRecord, base_url: str) -> JsonObject:
    """The QIDO-RS study result of one study (PS3.18 Table 10.6.3-3)."""
    attributes = _study_attributes(study)
    attributes.update(
        {
            "00080005": element("CS", "ISO_IR 192"),
            "00080056": element("CS", "ONLINE"),
            "00080061": element("CS", study.modalities_in_study),
            "00081190": element("UR", study_url(base_url, study.study_instance_uid)),
            "00201206": element("IS", study.number_of_series),
            "00201208": element("IS", study.number_of_instances),
        }
    )
    return attributes


def _series_attributes(series: SeriesRecord) -> JsonObject:
    return {
        "00080060": element("CS", series.modality),
        "0008103E": element("LO", series.series_description),
        "00180015": element("CS", series.body_part_examined),
        "0020000D": element("UI", series.study.study_instance_uid),
        "0020000E": element("UI", series.series_instance_uid),
        "00200011": element("IS", series.series_number),
        "00400244": element("DA", series.performed_procedure_step_start_date),
    }


def series_json(series: SeriesRecord, base_url: str, *, with_study: bool) -> JsonObject:
    """The QIDO-RS series result (PS3.18 Table 10.6.3-4).

    ``with_study`` adds the study attributes, as PS3.18 asks when the URL
    does not name the study.
    """
    attributes = _study_attributes(series.study) if with_study else {}
    attributes.update(_series_attributes(series))
    attributes.update(
        {
            "00080005": element("CS", "ISO_IR 192"),
            "00081190": element(
                "UR",
                series_url(base_url, series.study.study_instance_uid, series.series_instance_uid),
            ),
            "00201209": element("IS", series.number_of_instances),
        }
    )
    return attributes


def instance_json(
    instance: InstanceRecord,
    series: SeriesRecord,
    base_url: str,
    *,
    with_series: bool,
    with_study: bool,
) -> JsonObject:
    """The QIDO-RS instance result (PS3.18 Table 10.6.3-5).

    ``with_series`` and ``with_study`` add those levels' attributes when the
    URL does not name the series or study.
    """
    attributes = _study_attributes(series.study) if with_study else {}
    if with_series:
        attributes.update(_series_attributes(series))
    attributes.update(
        {
            "00080005": element("CS", "ISO_IR 192"),
            "00080016": element("UI", instance.sop_class_uid),
            "00080018": element("UI", instance.sop_instance_uid),
            "00080056": element("CS", "ONLINE"),
            "00081190": element(
                "UR",
                instance_url(
                    base_url,
                    instance.study_instance_uid,
                    instance.series_instance_uid,
                    instance.sop_instance_uid,
                ),
            ),
            "00083002": element("UI", instance.transfer_syntax_uid),
            "0020000D": element("UI", instance.study_instance_uid),
            "0020000E": element("UI", instance.series_instance_uid),
            "00200013": element("IS", instance.instance_number),
            "00280008": element("IS", instance.number_of_frames),
            "00280010": element("US", instance.rows),
            "00280011": element("US", instance.columns),
            "00280100": element("US", instance.bits_allocated),
        }
    )
    return attributes


def _element_json(elem: DataElement) -> JsonObject | None:
    """A header element as DICOM JSON; None for bulk binary values or unencodable ones."""
    if elem.tag == 0x7FE00010 or (elem.VR in BINARY_VRS and len(elem.value or b"") > _INLINE_LIMIT):
        return None
    try:
        converted: JsonObject = elem.to_json_dict(
            bulk_data_element_handler=None, bulk_data_threshold=2**31
        )
    except Exception:  # a malformed stored value must not fail the whole search
        return None
    return converted


def header_attributes(header: Dataset, tags: Iterable[BaseTag] | None) -> JsonObject:
    """DICOM JSON of ``tags`` read from ``header`` (``None``: every non-bulk attribute).

    Tags absent from the header are left out; an index value for the same
    tag, set by the caller, wins.
    """
    result: JsonObject = {}
    elements = header if tags is None else (header[t] for t in tags if t in header)
    for elem in elements:
        if tags is None and elem.tag.group == 0x0002:
            continue
        converted = _element_json(elem)
        if converted is not None:
            result[f"{elem.tag:08X}"] = converted
    return result
