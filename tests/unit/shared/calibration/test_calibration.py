from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

import shared.calibration
from shared.calibration import (
    CalibrationDataError,
    CalibrationSet,
    CalibrationSource,
    CalibrationSpecError,
    check_calibration_dataset,
    generate_case,
)

SET = {
    "set_id": "chest-cal-1",
    "title": "Chest calibration",
    "guideline": {"name": "chest", "version": "1.0"},
    "cases": [
        {"case_id": "c1", "rows": 64, "columns": 64, "slices": 8, "seed": 1},
        {"case_id": "c2", "rows": 64, "columns": 64, "slices": 8, "seed": 2, "style": "ge-like"},
    ],
}


def test_exports():
    assert shared.calibration.__doc__
    for name in shared.calibration.__all__:
        assert hasattr(shared.calibration, name), name


def test_roundtrip_and_identical_generation():
    cal = CalibrationSet.from_json(SET)
    assert CalibrationSet.from_json(cal.to_json()) == cal
    assert cal.case_ids == {"c1", "c2"}
    a, b = generate_case(cal.case("c1")), generate_case(cal.case("c1"))
    assert a.sop_instance_uids == b.sop_instance_uids
    assert a.pixel_slice(3).tobytes() == b.pixel_slice(3).tobytes()
    assert generate_case(cal.case("c2")).series_instance_uid != a.series_instance_uid


@pytest.mark.parametrize(
    "change",
    [
        {"set_id": "bad id"},
        {"cases": []},
        {"cases": [SET["cases"][0], SET["cases"][0]]},
        {"cases": [{"case_id": "x", "style": "nope"}]},
        {"cases": [{"case_id": "x", "rows": 8}]},
        {"extra": 1},
        {"guideline": "chest"},
    ],
)
def test_bad_sets_are_refused(change):
    with pytest.raises(CalibrationSpecError):
        CalibrationSet.from_json({**SET, **change})


def test_generated_phantom_passes_the_check():
    series = generate_case(CalibrationSet.from_json(SET).case("c1"))
    ds = series.dataset(0)
    assert ds.PatientIdentityRemoved == "NO"  # phantoms carry canaries on purpose
    source = check_calibration_dataset(ds, generated_uids=series.sop_instance_uids)
    assert source is CalibrationSource.PHANTOM


def test_foreign_dataset_without_deid_marker_is_refused():
    series = generate_case(CalibrationSet.from_json(SET).case("c1"))
    with pytest.raises(CalibrationDataError, match="Patient Identity Removed"):
        check_calibration_dataset(series.dataset(0))


def test_cleanly_deidentified_dataset_is_accepted():
    ds = Dataset()
    ds.SOPInstanceUID = generate_uid()
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "DICOM PS3.15 Basic Profile"
    ds.PatientName = ""
    assert check_calibration_dataset(ds) is CalibrationSource.DEIDENTIFIED
    ds.PatientID = "12345"
    with pytest.raises(CalibrationDataError, match="PatientID"):
        check_calibration_dataset(ds)
