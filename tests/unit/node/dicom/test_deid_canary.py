"""No identifying byte survives into the written output; every pydicom test file goes through."""

from __future__ import annotations

import warnings

import pydicom
import pytest
from pydicom import Dataset
from pydicom.data import get_testdata_files
from pydicom.sequence import Sequence

from node.dicom.deid import Deidentifier, DeidOptions
from node.errors import DeidentificationError

from .deid_fixtures import SECRET, make_ct, tags_of, to_bytes

CANARIES = {
    "PatientName": "Canaryname^Pn01",
    "PatientID": "CANARY-PID-02",
    "OtherPatientIDs": "CANARY-OPID-03",
    "InstitutionName": "Canary Institution 04",
    "ReferringPhysicianName": "Canaryref^Doc05",
    "StudyDescription": "Canary study description 06",
    "AccessionNumber": "CANARYACC07",
    "PatientBirthDate": "19410709",
    "PatientAddress": "1 Canary Lane 08",
    "InstitutionAddress": "Canary Street 09",
    "OperatorsName": "Canaryop^Er10",
    "StationName": "CANARYSTN11",
    "ImageComments": "Canary comment 12",
    "SeriesDescription": "Canary series 13",
}
NESTED_PN = "Canarynested^Pn14"
NESTED_TEXT = "Canary nested text 15"
PRIVATE = "CANARY-PRIVATE-16"


def _canary_dataset() -> Dataset:
    ds = make_ct(patient_id=CANARIES["PatientID"], patient_name=CANARIES["PatientName"])
    for keyword, value in CANARIES.items():
        setattr(ds, keyword, value)
    person = Dataset()
    person.PersonName = NESTED_PN
    observer = Dataset()
    observer.VerifyingObserverName = NESTED_PN
    observer.VerifyingOrganization = NESTED_TEXT
    content = Dataset()
    content.ValueType = "TEXT"
    content.TextValue = NESTED_TEXT
    content.ContentSequence = Sequence([person])
    ds.ContentSequence = Sequence([content])
    ds.VerifyingObserverSequence = Sequence([observer])
    ds.RequestAttributesSequence = Sequence([person])
    performer = Dataset()
    performer.PerformingPhysicianName = NESTED_PN
    ds.PerformedProtocolCodeSequence = Sequence([performer])
    ds.add_new(0x00090010, "LO", "CANARY_CREATOR")
    ds.add_new(0x00091001, "LO", PRIVATE)
    return ds


@pytest.mark.parametrize(
    "options",
    [
        DeidOptions(),
        DeidOptions(retain_longitudinal_modified_dates=True, retain_patient_characteristics=True),
    ],
)
def test_no_canary_in_written_bytes(options: DeidOptions) -> None:
    out = to_bytes(Deidentifier(SECRET, options).deidentify(_canary_dataset()).dataset)
    canaries = [*CANARIES.values(), NESTED_PN, NESTED_TEXT, PRIVATE, "Canary", "CANARY"]
    canaries += ["Canaryname", "1941"]
    for canary in canaries:
        assert canary.encode() not in out, canary


def _readable_test_files() -> list[str]:
    names = []
    for name in get_testdata_files():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pydicom.dcmread(name, stop_before_pixels=True)
        except Exception:
            continue
        names.append(name)
    return names


@pytest.mark.parametrize(
    "options",
    [
        DeidOptions(),
        DeidOptions(retain_longitudinal_modified_dates=True, retain_patient_characteristics=True),
    ],
    ids=["basic", "all-options"],
)
def test_every_readable_pydicom_file(options: DeidOptions) -> None:
    deid = Deidentifier(SECRET, options)
    names = _readable_test_files()
    assert len(names) > 150
    refused = []
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(name)
            original_name = str(ds.get("PatientName", "") or "")
            try:
                result = deid.deidentify(ds)
            except DeidentificationError as exc:
                assert str(exc)  # a clear message, never another exception type
                refused.append(name)
                continue
        ds = result.dataset
        assert ds.PatientIdentityRemoved == "YES"
        assert not [tag for tag in tags_of(ds) if tag.is_private]
        if len(original_name) > 3 and original_name not in ds.PatientID:
            assert original_name not in str(ds.PatientName), name
    assert len(refused) <= 10  # the DICOMDIRs
