"""Marking, the burned-in text rule, and the package's public API."""

from __future__ import annotations

import pydicom
import pytest
from pydicom import Dataset

import node.dicom.deid as deid_pkg
from node.dicom.deid import Deidentifier, DeidOptions, burned_in_text_reason
from node.dicom.deid.marking import encoded_marks, mark_deidentified

from .deid_fixtures import SECRET, make_ct


def test_public_api() -> None:
    assert deid_pkg.__all__ == sorted(deid_pkg.__all__)
    assert set(deid_pkg.__all__) == {
        "BasicAction",
        "DeidOptions",
        "DeidResult",
        "Deidentifier",
        "IdentityLink",
        "PrivateTagRule",
        "ProfileTable",
        "RelinkSealer",
        "burned_in_text_reason",
        "generate_relink_keypair",
        "load_profile_table",
        "open_relink",
    }


def test_marking_basic_and_options() -> None:
    ds = Deidentifier(SECRET).deidentify(make_ct()).dataset
    assert ds.PatientIdentityRemoved == "YES"
    assert "Basic Profile" in str(ds.DeidentificationMethod)
    codes = [(i.CodeValue, i.CodingSchemeDesignator) for i in ds.DeidentificationMethodCodeSequence]
    assert codes == [("113100", "DCM")]
    options = DeidOptions(
        retain_longitudinal_modified_dates=True, retain_patient_characteristics=True
    )
    ds = Deidentifier(SECRET, options).deidentify(make_ct()).dataset
    codes = [i.CodeValue for i in ds.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113107", "113108"]
    assert all(len(v) <= 64 for v in ds.DeidentificationMethod)


def _ds(modality: str | None, sop_class: str | None, burned: str | None) -> Dataset:
    ds = Dataset()
    if modality is not None:
        ds.Modality = modality
    if sop_class is not None:
        ds.SOPClassUID = sop_class
    if burned is not None:
        ds.BurnedInAnnotation = burned
    return ds


CT = "1.2.840.10008.5.1.4.1.1.2"
US = "1.2.840.10008.5.1.4.1.1.6.1"
SC = "1.2.840.10008.5.1.4.1.1.7"
SC_MF = "1.2.840.10008.5.1.4.1.1.7.4"


@pytest.mark.parametrize(
    ("modality", "sop_class", "burned", "quarantined"),
    [
        ("CT", CT, None, False),
        ("CT", CT, "NO", False),
        ("CT", CT, "YES", True),
        ("MR", None, "YES", True),
        ("US", US, None, True),
        ("US", US, "YES", True),
        ("US", US, "NO", False),
        ("OT", SC, None, True),
        ("OT", SC, "NO", False),
        ("CT", SC_MF, None, True),
        ("SC", None, None, True),
        ("OT", None, None, True),
        ("XC", CT, "", False),
        (None, None, None, False),
    ],
)
def test_burned_in_truth_table(modality, sop_class, burned, quarantined) -> None:  # type: ignore[no-untyped-def]
    reason = burned_in_text_reason(_ds(modality, sop_class, burned))
    assert (reason is not None) == quarantined
    if reason is not None:
        assert "burned-in" in reason


def test_quarantine_judged_on_original() -> None:
    ds = make_ct()
    ds.Modality = "US"
    del ds.BurnedInAnnotation
    result = Deidentifier(SECRET).deidentify(ds)
    assert result.quarantine_reason is not None and "US" in result.quarantine_reason
    assert Deidentifier(SECRET).deidentify(make_ct()).quarantine_reason is None


def test_result_is_same_object_and_identity_hidden_in_repr() -> None:
    ds = make_ct()
    result = Deidentifier(SECRET).deidentify(ds)
    assert result.dataset is ds
    assert result.identity.patient_id == "PID-123"
    assert result.identity.pseudonym_patient_id == ds.PatientID
    assert "PID-123" not in repr(result.identity)
    assert "Doe" not in repr(result.identity)


@pytest.mark.parametrize(
    "syntax",
    [
        pydicom.uid.ImplicitVRLittleEndian,
        pydicom.uid.ExplicitVRLittleEndian,
        pydicom.uid.ExplicitVRBigEndian,
    ],
)
@pytest.mark.parametrize(
    "options",
    [
        DeidOptions(),
        DeidOptions(retain_longitudinal_modified_dates=True, retain_patient_characteristics=True),
    ],
)
def test_pre_encoded_marks_decode_to_what_mark_deidentified_sets(
    syntax: str, options: DeidOptions
) -> None:

    uid = pydicom.uid.UID(syntax)
    expected = Dataset()
    mark_deidentified(expected, options, table_edition="2025b")
    raw = Dataset()
    raw.set_original_encoding(uid.is_implicit_VR, uid.is_little_endian, "iso8859")
    for element in encoded_marks(
        options,
        table_edition="2025b",
        implicit=uid.is_implicit_VR,
        little=uid.is_little_endian,
    ):
        raw._dict[element.tag] = element
    assert [e.tag for e in raw] == [e.tag for e in expected]
    for element in expected:
        assert raw[element.tag].value == element.value, element.keyword
