"""Plain, immutable records the store returns and accepts.

The SQL rows stay inside the store; callers get these frozen dataclasses, so
no session or lazy load escapes a transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydicom import Dataset

__all__ = [
    "InstanceAttributes",
    "InstanceRecord",
    "PutStatus",
    "SeriesRecord",
    "StudyRecord",
]


def _text(ds: Dataset, keyword: str, limit: int) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    return str(value)[:limit]


def _int(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class InstanceAttributes:
    """The indexed attributes of one de-identified instance."""

    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: str = ""
    patient_sex: str = ""
    study_date: str = ""
    study_time: str = ""
    accession_number: str = ""
    study_id: str = ""
    study_description: str = ""
    referring_physician_name: str = ""
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    body_part_examined: str = ""
    performed_procedure_step_start_date: str = ""
    frame_of_reference_uid: str = ""
    instance_number: int | None = None
    rows: int | None = None
    columns: int | None = None
    bits_allocated: int | None = None
    number_of_frames: int | None = None

    @classmethod
    def from_dataset(cls, ds: Dataset, transfer_syntax_uid: str) -> InstanceAttributes:
        """Extract the indexed attributes from a de-identified dataset."""
        return cls(
            study_instance_uid=str(ds.StudyInstanceUID),
            series_instance_uid=str(ds.SeriesInstanceUID),
            sop_instance_uid=str(ds.SOPInstanceUID),
            sop_class_uid=str(ds.SOPClassUID),
            transfer_syntax_uid=transfer_syntax_uid,
            patient_id=_text(ds, "PatientID", 64),
            patient_name=_text(ds, "PatientName", 324),
            patient_birth_date=_text(ds, "PatientBirthDate", 8),
            patient_sex=_text(ds, "PatientSex", 16),
            study_date=_text(ds, "StudyDate", 8),
            study_time=_text(ds, "StudyTime", 16),
            accession_number=_text(ds, "AccessionNumber", 16),
            study_id=_text(ds, "StudyID", 16),
            study_description=_text(ds, "StudyDescription", 64),
            referring_physician_name=_text(ds, "ReferringPhysicianName", 324),
            modality=_text(ds, "Modality", 16),
            series_number=_int(ds, "SeriesNumber"),
            series_description=_text(ds, "SeriesDescription", 64),
            body_part_examined=_text(ds, "BodyPartExamined", 16),
            performed_procedure_step_start_date=_text(ds, "PerformedProcedureStepStartDate", 8),
            frame_of_reference_uid=_text(ds, "FrameOfReferenceUID", 64),
            instance_number=_int(ds, "InstanceNumber"),
            rows=_int(ds, "Rows"),
            columns=_int(ds, "Columns"),
            bits_allocated=_int(ds, "BitsAllocated"),
            number_of_frames=_int(ds, "NumberOfFrames"),
        )


class PutStatus:
    """Outcome of :meth:`InstanceStore.put`: a new instance, or one already stored."""

    STORED = "stored"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class StudyRecord:
    """A study as QIDO-RS returns it, with its computed attributes."""

    study_instance_uid: str
    patient_id: str
    patient_name: str
    patient_birth_date: str
    patient_sex: str
    study_date: str
    study_time: str
    accession_number: str
    study_id: str
    study_description: str
    referring_physician_name: str
    modalities_in_study: tuple[str, ...]
    number_of_series: int
    number_of_instances: int


@dataclass(frozen=True)
class SeriesRecord:
    """A series, with its study's identity and its instance count."""

    study: StudyRecord
    series_instance_uid: str
    modality: str
    series_number: int | None
    series_description: str
    body_part_examined: str
    performed_procedure_step_start_date: str
    frame_of_reference_uid: str
    number_of_instances: int


@dataclass(frozen=True)
class InstanceRecord:
    """A stored instance: identity, file, provenance and quarantine state."""

    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    instance_number: int | None
    rows: int | None
    columns: int | None
    bits_allocated: int | None
    number_of_frames: int | None
    content_sha256: str
    size_bytes: int
    source: str
    received_at: datetime
    quarantine_reason: str | None
    released_at: datetime | None
    released_by: str | None

    @property
    def quarantined(self) -> bool:
        """Whether the instance still waits for an admin's release."""
        return self.quarantine_reason is not None and self.released_at is None
