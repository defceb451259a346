"""Keyed pseudonyms: deterministic per site and patient, valid and consistent UIDs."""

from __future__ import annotations

import re

import pytest
from pydicom.uid import UID

from node.dicom.deid import Deidentifier, DeidOptions
from shared.errors import ConfigurationError

from .deid_fixtures import CT_IMAGE_STORAGE, SECRET, make_ct, ref_item, roundtrip, seq

UID_2_25 = re.compile(r"^2\.25\.(0|[1-9][0-9]*)$")


def test_short_secret_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least 32"):
        Deidentifier(b"short")


def test_resent_instance_maps_identically() -> None:
    deid = Deidentifier(SECRET)
    a = deid.deidentify(make_ct()).dataset
    b = deid.deidentify(make_ct()).dataset
    for keyword in (
        "PatientID",
        "PatientName",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "FrameOfReferenceUID",
        "AccessionNumber",
        "StudyID",
    ):
        assert str(a.get(keyword)) == str(b.get(keyword)), keyword


def test_later_series_of_same_patient_shares_patient_and_study() -> None:
    deid = Deidentifier(SECRET, DeidOptions(retain_longitudinal_modified_dates=True))
    first = deid.deidentify(make_ct(series_uid="1.2.3.10", sop_uid="1.2.3.11")).dataset
    later = make_ct(study_uid="1.2.3.20", series_uid="1.2.3.21", sop_uid="1.2.3.22")
    later.StudyDate = "20250101"
    later = deid.deidentify(later).dataset
    assert first.PatientID == later.PatientID
    assert str(first.PatientName) == str(later.PatientName) == first.PatientID
    assert first.PatientID.startswith("HN-")
    assert first.SeriesInstanceUID != later.SeriesInstanceUID
    assert first.StudyInstanceUID != later.StudyInstanceUID


def test_different_patients_and_sites_differ() -> None:
    deid = Deidentifier(SECRET)
    a = deid.deidentify(make_ct(patient_id="A")).dataset
    b = deid.deidentify(make_ct(patient_id="B")).dataset
    assert a.PatientID != b.PatientID
    other_site = Deidentifier(b"another-site-secret-0123456789abcdef")
    c = other_site.deidentify(make_ct(patient_id="A")).dataset
    assert c.PatientID != a.PatientID
    assert c.SOPInstanceUID != a.SOPInstanceUID


def test_uids_are_valid_2_25() -> None:
    deid = Deidentifier(SECRET)
    for original in ("1.2.3", "1.2.826.0.1.3680043.8.498." + "9" * 30, "not a uid!", "0.0"):
        uid = deid.pseudonymize_uid(original)
        assert UID_2_25.match(uid), uid
        assert len(uid) <= 64
        assert UID(uid).is_valid
        assert deid.pseudonymize_uid(original) == uid


def test_well_known_uids_are_not_remapped() -> None:
    deid = Deidentifier(SECRET)
    for uid in (
        CT_IMAGE_STORAGE,
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.2.16.4",
        "1.2.840.10008.1.4.1.1",
    ):
        assert deid.pseudonymize_uid(uid) == uid
    ds = deid.deidentify(make_ct()).dataset
    assert ds.SOPClassUID == CT_IMAGE_STORAGE
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"


def test_references_follow_their_targets_in_nested_sequences() -> None:
    deid = Deidentifier(SECRET)
    target = make_ct(sop_uid="1.2.3.500")
    referring = make_ct(sop_uid="1.2.3.501")
    inner = ref_item(CT_IMAGE_STORAGE, "1.2.3.500")
    inner.ReferencedFrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.4"
    outer = ref_item(CT_IMAGE_STORAGE, "1.2.3.500")
    outer.ReferencedImageSequence = seq(inner)
    referring.ReferencedImageSequence = seq(ref_item(CT_IMAGE_STORAGE, "1.2.3.500"))
    referring.SourceImageSequence = seq(outer)
    referring.ReferencedSeriesSequence = seq(ref_item(CT_IMAGE_STORAGE, "1.2.3.500"))
    referring.ReferencedSeriesSequence[0].SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    t = deid.deidentify(target).dataset
    r = roundtrip(deid.deidentify(referring).dataset)
    assert r.ReferencedImageSequence[0].ReferencedSOPInstanceUID == t.SOPInstanceUID
    assert r.ReferencedImageSequence[0].ReferencedSOPClassUID == CT_IMAGE_STORAGE
    src = r.SourceImageSequence[0]
    assert src.ReferencedSOPInstanceUID == t.SOPInstanceUID
    assert src.ReferencedImageSequence[0].ReferencedSOPInstanceUID == t.SOPInstanceUID
    assert src.ReferencedImageSequence[0].ReferencedFrameOfReferenceUID == t.FrameOfReferenceUID
    assert r.ReferencedSeriesSequence[0].SeriesInstanceUID == t.SeriesInstanceUID
    assert r.ReferencedSeriesSequence[0].ReferencedSOPInstanceUID == t.SOPInstanceUID


def test_media_storage_uid_follows_sop_instance_uid() -> None:
    ds = Deidentifier(SECRET).deidentify(make_ct()).dataset
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert "SourceApplicationEntityTitle" not in ds.file_meta


def test_multivalued_uid_list_remapped_each() -> None:
    deid = Deidentifier(SECRET)
    ds = make_ct()
    ds.FailedSOPInstanceUIDList = ["1.2.3.500", CT_IMAGE_STORAGE]
    out = roundtrip(deid.deidentify(ds).dataset)
    assert list(out.FailedSOPInstanceUIDList) == [
        deid.pseudonymize_uid("1.2.3.500"),
        CT_IMAGE_STORAGE,
    ]


def test_missing_patient_id_groups_by_study() -> None:
    deid = Deidentifier(SECRET)
    a, b = make_ct(patient_id=""), make_ct(patient_id="", sop_uid="1.2.3.9")
    assert deid.deidentify(a).dataset.PatientID == deid.deidentify(b).dataset.PatientID
    c = make_ct(patient_id="", study_uid="1.2.3.77")
    assert deid.deidentify(c).dataset.PatientID != a.PatientID


def test_accession_and_study_id_pseudonyms_fit_sh() -> None:
    ds = Deidentifier(SECRET).deidentify(make_ct()).dataset
    assert ds.AccessionNumber.startswith("AN-") and len(ds.AccessionNumber) <= 16
    assert ds.StudyID.startswith("ST-") and len(ds.StudyID) <= 16


def test_de_identifying_the_nodes_own_output_again_changes_no_identifier() -> None:
    """A SEG a viewer sends back carries the node's pseudonyms; they must stay as they are."""
    deid = Deidentifier(SECRET, DeidOptions(retain_longitudinal_modified_dates=True))
    once = deid.deidentify(make_ct()).dataset
    keywords = (
        "PatientID",
        "PatientName",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "FrameOfReferenceUID",
        "AccessionNumber",
        "StudyID",
        "StudyDate",
        "ContentDate",
    )
    first = {keyword: str(once.get(keyword)) for keyword in keywords}
    twice = deid.deidentify(roundtrip(once)).dataset
    assert {keyword: str(twice.get(keyword)) for keyword in keywords} == first


def test_only_this_sites_pseudonyms_are_recognised() -> None:
    deid = Deidentifier(SECRET)
    mine = deid.pseudonymize_uid("1.2.3.4")
    other_site = Deidentifier(b"another-site-secret-0123456789abcdef")
    theirs = other_site.pseudonymize_uid("1.2.3.4")
    assert deid.pseudonymize_uid(mine) == mine
    assert deid.pseudonymize_uid(theirs) not in (theirs, mine)
    assert UID_2_25.match(deid.pseudonymize_uid(theirs))
    for foreign in ("2.25.0", "2.25.123", "2.25." + "9" * 39, "2.25.0123", "1.2.3.4"):
        assert deid.pseudonymize_uid(foreign) != foreign
    patient = deid.pseudonymize_patient_id("PAT-1")
    assert deid.pseudonymize_patient_id(patient) == patient
    assert other_site.pseudonymize_patient_id(patient) != patient
