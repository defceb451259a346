"""Cross-site figures of every label kind, from simulated readers at two sites."""

from __future__ import annotations

from typing import Any

import pytest

from coordinator.harmonize import CalibrationAnnotation, cross_site_label
from shared.calibration import CalibrationSet, generate_case
from shared.schemas import Guideline
from shared.simulation import CaseTruth, ReaderHabits, ReaderProfile, simulate_annotations
from tests.unit.coordinator.harmonize.conftest import CALIBRATION

KINDS: dict[str, Any] = {
    "name": "kinds",
    "version": "1",
    "title": "every kind",
    "labels": [
        {"name": "outline", "kind": "polygon", "definition": "d"},
        {"name": "centre", "kind": "keypoint", "definition": "d", "match_distance_mm": 6.0},
        {"name": "diameter", "kind": "length", "definition": "d", "match_distance_mm": 6.0},
        {"name": "finding", "kind": "box", "definition": "d"},
        {
            "name": "grade",
            "kind": "classification",
            "definition": "d",
            "categories": [{"code": "1", "meaning": "one"}, {"code": "2", "meaning": "two"}],
        },
    ],
}


@pytest.fixture(scope="module")
def annotations() -> list[CalibrationAnnotation]:
    guideline = Guideline.model_validate(KINDS)
    calibration = CalibrationSet.from_json(CALIBRATION)
    detection = {"outline", "centre", "diameter", "finding"}
    readers = {
        "a": [ReaderProfile("r1", 1), ReaderProfile("r2", 2)],
        "b": [
            ReaderProfile("r1", 3, [ReaderHabits(miss_probability=1.0, labels=detection)]),
            ReaderProfile("r2", 4),
        ],
    }
    out = []
    for case in calibration.cases:
        truth = CaseTruth.from_phantom(
            generate_case(case), case_id=case.case_id, categories={"grade": "1"}
        )
        for site, profiles in readers.items():
            for profile in profiles:
                for payload in simulate_annotations(profile, truth, guideline):
                    out.append(
                        CalibrationAnnotation("s", site, profile.reader, case.case_id, payload)
                    )
    return out


@pytest.mark.parametrize("label", ["outline", "centre", "diameter", "finding"])
def test_detection_kinds_pool_reader_pairs(annotations: list, label: str) -> None:
    guideline = Guideline.model_validate(KINDS)
    calibration = CalibrationSet.from_json(CALIBRATION)
    result = cross_site_label(guideline.label(label), calibration, annotations)  # type: ignore[arg-type]
    assert result.all_readers.metric == "pooled_f1"
    assert result.sites["a"].within.value == 1.0
    # b/r1 misses every lesion (a reader who annotated nothing at all on a case would not
    # appear in the upload; here r1 still grades the cases)
    assert result.sites["b"].within.value == 0.0
    assert result.sites["b"].readers["r1"].value == 0.0
    assert result.sites["b"].readers["r2"].value == 1.0
    assert 0.0 < result.site_pairs[0][2].value < 1.0
    assert len(result.cases) == len(calibration.cases)
    assert result.to_json()["site_pairs"][0]["sites"] == ["a", "b"]


def test_the_roster_counts_a_reader_who_annotated_nothing(annotations: list) -> None:
    guideline = Guideline.model_validate(KINDS)
    calibration = CalibrationSet.from_json(CALIBRATION)
    silent = [a for a in annotations if a.rater != "b/r1"]
    label = guideline.label("finding")
    assert label is not None
    without = cross_site_label(label, calibration, silent)
    assert set(without.sites["b"].readers) == {"r2"}
    roster = {c.case_id: {"a/r1", "a/r2", "b/r1", "b/r2"} for c in calibration.cases}
    counted = cross_site_label(label, calibration, silent, roster)
    assert counted.sites["b"].readers["r1"].value == 0.0
    assert counted.sites["b"].within.value == 0.0
