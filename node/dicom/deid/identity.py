"""The link from a patient pseudonym back to the original identifiers.

An :class:`IdentityLink` exists in memory only: the node either drops it or,
when hospital IT configured a relink public key, seals it with
:class:`node.dicom.deid.relink.RelinkSealer` before anything is written. Its
``repr`` shows the pseudonyms only, so a stray log line cannot leak identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

__all__ = ["IdentityLink"]


@dataclass(frozen=True)
class IdentityLink:
    """One instance's pseudonyms and the original identifiers they replace.

    Parameters
    ----------
    pseudonym_patient_id
        The pseudonym now in PatientID and PatientName.
    pseudonym_study_instance_uid, pseudonym_series_instance_uid, pseudonym_sop_instance_uid
        The remapped UIDs (empty when the original had none).
    pseudonym_accession_number
        The remapped Accession Number (empty when the original had none).
    patient_id, patient_name, patient_birth_date, issuer_of_patient_id, accession_number,
    study_id, study_instance_uid, series_instance_uid, sop_instance_uid
        The original values, empty strings when absent.
    """

    pseudonym_patient_id: str
    pseudonym_study_instance_uid: str = ""
    pseudonym_series_instance_uid: str = ""
    pseudonym_sop_instance_uid: str = ""
    pseudonym_accession_number: str = ""
    patient_id: str = field(default="", repr=False)
    patient_name: str = field(default="", repr=False)
    patient_birth_date: str = field(default="", repr=False)
    issuer_of_patient_id: str = field(default="", repr=False)
    accession_number: str = field(default="", repr=False)
    study_id: str = field(default="", repr=False)
    study_instance_uid: str = field(default="", repr=False)
    series_instance_uid: str = field(default="", repr=False)
    sop_instance_uid: str = field(default="", repr=False)

    def as_mapping(self) -> dict[str, str]:
        """Return every field as ``{name: value}``, ready for :meth:`RelinkSealer.seal`."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
