from __future__ import annotations

import datetime
import io

import pydicom

from shared.phantoms import (
    CANARY_FIELDS,
    CANARY_PREFIX,
    CANARY_PRIVATE_CREATOR,
    CANARY_PRIVATE_GROUP,
    PhantomSeries,
    dataset_to_bytes,
)


def test_canaries_are_unique_and_recognisable(small_ct: PhantomSeries) -> None:
    canaries = small_ct.canaries
    assert len(canaries) == len(CANARY_FIELDS)
    assert len(set(canaries)) == len(canaries)
    for name, value in small_ct.canary_fields.items():
        if name == "patient_birth_date":
            born = datetime.datetime.strptime(value, "%Y%m%d").date()
            assert datetime.date(1930, 1, 1) <= born <= datetime.date(1989, 12, 31)
        else:
            assert value.startswith(CANARY_PREFIX)
            assert len(value) <= 16  # fits SH (AccessionNumber, StudyID)


def test_every_canary_is_in_every_written_slice(small_ct: PhantomSeries) -> None:
    for ds in small_ct.datasets():
        data = dataset_to_bytes(ds)
        for canary in small_ct.canaries:
            assert canary.encode("ascii") in data, canary


def test_canaries_sit_in_the_identifying_attributes(small_ct: PhantomSeries) -> None:
    fields = small_ct.canary_fields
    ds = pydicom.dcmread(io.BytesIO(dataset_to_bytes(small_ct.dataset(0))))
    assert str(ds.PatientName).startswith(fields["patient_name"])
    assert ds.PatientID == fields["patient_id"] == small_ct.patient_id
    assert ds.PatientBirthDate == fields["patient_birth_date"]
    assert ds.OtherPatientIDs == fields["other_patient_id"]
    assert ds.OtherPatientIDsSequence[0].PatientID == fields["other_patient_ids_sequence_id"]
    assert ds.AccessionNumber == fields["accession_number"]
    assert ds.InstitutionName == fields["institution_name"]
    assert str(ds.ReferringPhysicianName).startswith(fields["referring_physician_name"])
    assert fields["study_description"] in ds.StudyDescription
    block = ds.private_block(CANARY_PRIVATE_GROUP, CANARY_PRIVATE_CREATOR)
    assert block[0x10].value == fields["private_tag"]
    nested = block[0x11].value[0]
    assert str(nested.PatientName).startswith(fields["nested_private_patient_name"])
    modified = ds.OriginalAttributesSequence[0].ModifiedAttributesSequence[0]
    assert str(modified.PatientName).startswith(fields["original_patient_name"])
