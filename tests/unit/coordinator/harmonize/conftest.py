"""A published guideline, a calibration set and simulated readers at two sites."""

from __future__ import annotations

from typing import Any

import pytest

from coordinator.runtime import CoordinatorRuntime
from shared.calibration import CalibrationSet, generate_case
from shared.schemas import Guideline
from shared.simulation import CaseTruth, ReaderHabits, ReaderProfile, simulate_annotations

CHEST: dict[str, Any] = {
    "name": "chest",
    "version": "1.0",
    "title": "Chest",
    "labels": [
        {"name": "lesion", "kind": "mask", "definition": "every lesion", "agreement_target": 0.8},
        {"name": "finding", "kind": "box", "definition": "each lesion", "agreement_target": 0.6},
        {
            "name": "grade",
            "kind": "classification",
            "definition": "grade",
            "agreement_target": 0.6,
            "categories": [{"code": c, "meaning": f"grade {c}"} for c in ("1", "2", "3")],
        },
    ],
}
CALIBRATION: dict[str, Any] = {
    "set_id": "chest-cal-1",
    "title": "Chest calibration",
    "guideline": {"name": "chest", "version": "1.0"},
    "cases": [
        {"case_id": f"c{i}", "rows": 64, "columns": 64, "slices": 12, "seed": i} for i in range(4)
    ],
}
GRADES = {"c0": "1", "c1": "2", "c2": "3", "c3": "2"}


def readers(site: str) -> list[ReaderProfile]:
    """site-a reads well; site-b's readers disagree on the lesion outline."""
    if site == "site-a":
        return [
            ReaderProfile(f"r{i}", seed=i, habits=[ReaderHabits(boundary_noise_mm=0.3)])
            for i in (1, 2, 3)
        ]
    lesion = {"lesion"}
    return [
        ReaderProfile("r1", seed=11, habits=[ReaderHabits(dilation_mm=6.0, labels=lesion)]),
        ReaderProfile("r2", seed=12, habits=[ReaderHabits(dilation_mm=-3.0, labels=lesion)]),
        ReaderProfile("r3", seed=13),
    ]


def upload_payload(site: str, guideline: Guideline | None = None) -> dict[str, Any]:
    guideline = guideline or Guideline.model_validate(CHEST)
    calibration = CalibrationSet.from_json(CALIBRATION)
    items = []
    for case in calibration.cases:
        truth = CaseTruth.from_phantom(
            generate_case(case), case_id=case.case_id, categories={"grade": GRADES[case.case_id]}
        )
        for profile in readers(site):
            for annotation in simulate_annotations(profile, truth, guideline):
                items.append(
                    {"case": case.case_id, "reader": profile.reader, "annotation": annotation}
                )
    return {
        "calibration_set": calibration.set_id,
        "guideline": {"name": guideline.name, "version": guideline.version},
        "annotations": items,
    }


@pytest.fixture
def published(coordinator: CoordinatorRuntime) -> CoordinatorRuntime:
    coordinator.guidelines.publish(Guideline.model_validate(CHEST), published_by="editor")
    coordinator.calibration.publish(CALIBRATION, published_by="editor")
    return coordinator


@pytest.fixture(scope="session")
def uploads() -> dict[str, dict[str, Any]]:
    return {site: upload_payload(site) for site in ("site-a", "site-b")}
