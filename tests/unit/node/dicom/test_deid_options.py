"""Site options: modified dates, patient characteristics, private safe-list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydicom import Dataset
from pydicom.sequence import Sequence

from node.dicom.deid import Deidentifier, DeidOptions, PrivateTagRule
from node.dicom.deid.dates import shift_da, shift_dt
from node.settings import NodeSettings
from shared.errors import ConfigurationError

from .deid_fixtures import SECRET, make_ct, roundtrip, tags_of

DATES = DeidOptions(retain_longitudinal_modified_dates=True)


def _days(a: str, b: str) -> int:
    return (
        dt.date.fromisoformat(f"{a[:4]}-{a[4:6]}-{a[6:8]}")
        - dt.date.fromisoformat(f"{b[:4]}-{b[4:6]}-{b[6:8]}")
    ).days


def test_dates_shifted_consistently_per_patient() -> None:
    deid = Deidentifier(SECRET, DATES)
    ds = deid.deidentify(make_ct()).dataset
    shift = _days("20240310", ds.StudyDate)
    assert 1 <= shift <= DATES.max_date_shift_days
    assert ds.SeriesDate == ds.StudyDate == ds.ContentDate
    assert ds.StudyTime == "101500" and ds.ContentTime == "101733.25"  # TM kept: coherent
    assert ds.AcquisitionDateTime == ds.StudyDate + "101600.000000+0100"
    later = make_ct(study_uid="1.2.3.4", sop_uid="1.2.3.5")
    later.StudyDate = "20250101"
    later = deid.deidentify(later).dataset
    assert _days("20250101", later.StudyDate) == shift  # same patient, same shift
    other = deid.deidentify(make_ct(patient_id="OTHER")).dataset
    assert other.PatientID != ds.PatientID
    assert ds["PatientBirthDate"].is_empty  # never retained
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"


def test_dates_not_in_table_shifted_too_with_option() -> None:
    ds = make_ct()
    ds.DateOfSecondaryCapture = "20240310"
    ds.CalibrationDate = "20240310"
    out = Deidentifier(SECRET, DATES).deidentify(ds).dataset
    assert out.CalibrationDate == out.StudyDate


def test_dates_without_option_follow_basic_profile() -> None:
    ds = Deidentifier(SECRET).deidentify(make_ct()).dataset
    assert ds["StudyDate"].is_empty  # Z
    assert ds.SeriesDate == "19000101"  # X/D -> dummy
    assert ds.LongitudinalTemporalInformationModified == "REMOVED"


def test_shift_helpers() -> None:
    assert shift_da("20240301", 1) == "20240229"
    assert shift_da("2024.03.01", 1) == "20240229"
    assert shift_da("20240301\\20240302", 1) == "20240229\\20240301"
    assert shift_da("", 5) == ""
    assert shift_da("garbage", 5) == "19000101"
    assert shift_dt("20240301120000.5-0500", 1) == "20240229120000.5-0500"
    assert shift_dt("202403", 1) == "202402"
    assert shift_dt("x", 1) == "19000101000000"


@pytest.mark.parametrize("retain", [False, True])
def test_patient_characteristics_option(retain: bool) -> None:
    ds = make_ct()
    ds.PatientSize = "1.65"
    ds.SmokingStatus = "NO"
    ds.PregnancyStatus = 4
    ds.EthnicGroup = "CANARY-ETHNIC"
    options = DeidOptions(retain_patient_characteristics=retain)
    out = roundtrip(Deidentifier(SECRET, options).deidentify(ds).dataset)
    if retain:
        assert out.PatientSex == "F" and out.PatientAge == "054Y"
        assert out.PatientWeight == 61.5 and out.PatientSize == 1.65
        assert out.SmokingStatus == "NO" and out.PregnancyStatus == 4
        assert out.EthnicGroup == "CANARY-ETHNIC"
        codes = [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
        assert "113108" in codes
    else:
        assert out["PatientSex"].is_empty  # Z
        for keyword in (
            "PatientAge",
            "PatientWeight",
            "PatientSize",
            "SmokingStatus",
            "PregnancyStatus",
            "EthnicGroup",
        ):
            assert keyword not in out


def _with_private(ds: Dataset) -> Dataset:
    ds.add_new(0x00090010, "LO", "GEMS_IDEN_01")
    ds.add_new(0x00091001, "LO", "CANARY-PRIVATE-KEPT")
    ds.add_new(0x00091002, "LO", "CANARY-PRIVATE-DROPPED")
    ds.add_new(0x00090011, "LO", "OTHER_CREATOR")
    ds.add_new(0x00091101, "LO", "CANARY-OTHER")
    nested = Dataset()
    nested.add_new(0x00290010, "LO", "SIEMENS CSA")
    nested.add_new(0x00291008, "CS", "CANARY")
    ds.add_new(0x00431010, "LO", "orphan without creator")
    ds.ReferencedImageSequence = Sequence([nested])
    return ds


def test_private_tags_removed_by_default() -> None:
    out = Deidentifier(SECRET).deidentify(_with_private(make_ct())).dataset
    assert not [tag for tag in tags_of(out) if tag.is_private]
    assert not [tag for tag in tags_of(out.ReferencedImageSequence[0]) if tag.is_private]


def test_private_safelist_keeps_only_listed() -> None:
    rule = PrivateTagRule.parse('0009,"GEMS_IDEN_01",01')
    assert rule == PrivateTagRule(0x0009, "GEMS_IDEN_01", 0x01)
    out = (
        Deidentifier(SECRET, DeidOptions(private_tag_safelist=(rule,)))
        .deidentify(_with_private(make_ct()))
        .dataset
    )
    kept = sorted(int(tag) for tag in tags_of(out) if tag.is_private)
    assert kept == [0x00090010, 0x00091001]
    assert out[0x00091001].value == "CANARY-PRIVATE-KEPT"
    codes = [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    assert "113111" in codes


@pytest.mark.parametrize("text", ["", "0009,GEMS,01", '0008,"X",01', '0009,"X",100', "zz"])
def test_malformed_safelist_entry_is_a_clear_error(text: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        PrivateTagRule.parse(text)
    assert info.value.setting == "private_tag_safelist"


def test_options_from_settings(tmp_path: Path) -> None:
    settings = NodeSettings(
        data_dir=tmp_path,
        retain_longitudinal_modified_dates=True,
        retain_patient_characteristics=True,
        private_tag_safelist=['0009,"GEMS_IDEN_01",01'],
    )
    options = DeidOptions.from_settings(settings)
    assert options == DeidOptions(
        retain_longitudinal_modified_dates=True,
        retain_patient_characteristics=True,
        private_tag_safelist=(PrivateTagRule(9, "GEMS_IDEN_01", 1),),
    )
    assert DeidOptions.from_settings(NodeSettings(data_dir=tmp_path)) == DeidOptions()
