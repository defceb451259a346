from __future__ import annotations

import numpy as np
import pytest

import shared.simulation
from shared.agreement import cohen_kappa, dice
from shared.formats import rle_decode
from shared.phantoms import PhantomSpec, generate_series
from shared.schemas import Guideline, parse_annotation
from shared.simulation import (
    CaseTruth,
    ReaderHabits,
    ReaderProfile,
    SimulationError,
    simulate_annotations,
)

GUIDELINE = {
    "name": "chest",
    "version": "1.0",
    "title": "Chest",
    "labels": [
        {"name": "lesion", "kind": "mask", "definition": "every lesion"},
        {"name": "finding", "kind": "box", "definition": "each lesion"},
        {"name": "outline", "kind": "polygon", "definition": "each lesion"},
        {"name": "centre", "kind": "keypoint", "definition": "each lesion"},
        {"name": "diameter", "kind": "length", "definition": "each lesion"},
        {
            "name": "grade",
            "kind": "classification",
            "definition": "grade",
            "categories": [{"code": c, "meaning": c} for c in ("1", "2", "3")],
        },
    ],
}


def _guideline(version: str = "1.0") -> Guideline:
    return Guideline.model_validate({**GUIDELINE, "version": version})


@pytest.fixture(scope="module")
def cases() -> list[CaseTruth]:
    out = []
    for seed in range(6):
        series = generate_series(PhantomSpec(rows=96, columns=96, slices=24, seed=seed))
        out.append(CaseTruth.from_phantom(series, categories={"grade": "123"[seed % 3]}))
    return out


def _mask(payloads: list[dict], shape: tuple[int, int, int]) -> np.ndarray:
    volume = np.zeros(shape, dtype=bool)
    for p in payloads:
        if p["label"] == "lesion":
            for k, rle in p["geometry"]["slices"].items():
                volume[int(k)] = rle_decode(rle)
    return volume


def _mean_dice(profile: ReaderProfile, cases: list[CaseTruth], version: str = "1.0") -> float:
    values = []
    for case in cases:
        drawn = _mask(simulate_annotations(profile, case, _guideline(version)), case.shape)
        values.append(dice(drawn, case.volume > 0))
    return float(np.mean(values))


def test_exports():
    assert shared.simulation.__all__ == sorted(shared.simulation.__all__)
    assert shared.simulation.__doc__


def test_perfect_reader_matches_truth_and_payloads_validate(cases):
    profile = ReaderProfile("r1", seed=3)
    payloads = simulate_annotations(profile, cases[0], _guideline())
    for payload in payloads:
        parse_annotation(payload)
    kinds = {p["kind"] for p in payloads}
    assert kinds == {"mask", "box", "polygon", "keypoint", "length", "classification"}
    assert _mean_dice(profile, cases) == 1.0
    assert sum(p["kind"] == "box" for p in payloads) == 3


def test_same_seed_same_output_and_other_seed_differs(cases):
    habits = [ReaderHabits(boundary_noise_mm=1.5, miss_probability=0.3)]
    a = ReaderProfile("r1", seed=7, habits=habits)
    b = ReaderProfile("r1", seed=7, habits=habits)
    c = ReaderProfile("r1", seed=8, habits=habits)
    outputs = [simulate_annotations(p, cases[1], _guideline()) for p in (a, b, c)]
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]


@pytest.mark.parametrize("dilation", [2.0, -1.5])
def test_over_and_under_segmentation_lower_dice(cases, dilation):
    profile = ReaderProfile("r1", habits=[ReaderHabits(dilation_mm=dilation)])
    drawn = _mask(simulate_annotations(profile, cases[0], _guideline()), cases[0].shape)
    truth = cases[0].volume > 0
    assert dice(drawn, truth) < 0.95
    if dilation > 0:
        assert drawn.sum() > truth.sum()
    else:
        assert drawn.sum() < truth.sum()


def test_more_boundary_noise_lowers_dice(cases):
    small = _mean_dice(ReaderProfile("r1", habits=[ReaderHabits(boundary_noise_mm=0.5)]), cases)
    large = _mean_dice(ReaderProfile("r1", habits=[ReaderHabits(boundary_noise_mm=2.5)]), cases)
    assert 1.0 > small > large


def test_missed_lesions_drop_objects(cases):
    always = ReaderProfile("r1", habits=[ReaderHabits(miss_probability=1.0)])
    payloads = simulate_annotations(always, cases[0], _guideline())
    assert [p["kind"] for p in payloads] == ["classification"]
    sometimes = ReaderProfile("r1", seed=2, habits=[ReaderHabits(miss_probability=0.5)])
    boxes = sum(
        p["kind"] == "box" for c in cases for p in simulate_annotations(sometimes, c, _guideline())
    )
    assert 0 < boxes < 3 * len(cases)


def _grades(profile: ReaderProfile, cases: list[CaseTruth], version: str = "1.0") -> list[str]:
    out = []
    for case in cases:
        payloads = simulate_annotations(profile, case, _guideline(version))
        out.extend(p["geometry"]["value"] for p in payloads if p["label"] == "grade")
    return out


def test_confusion_matrix_lowers_kappa(cases):
    truth = [c.categories["grade"] for c in cases]
    swap = {"1": {"2": 1.0}, "2": {"3": 1.0}, "3": {"1": 1.0}}
    confused = ReaderProfile("r1", habits=[ReaderHabits(confusion=swap, labels={"grade"})])
    exact = ReaderProfile("r2")
    cats = ["1", "2", "3"]
    assert cohen_kappa(_grades(exact, cases), truth, categories=cats).value == 1.0
    assert cohen_kappa(_grades(confused, cases), truth, categories=cats).value < 0.0


def test_clarified_rule_removes_the_habit_from_that_version(cases):
    habit = ReaderHabits(dilation_mm=2.5, labels={"lesion"}, clarified_in="1.1")
    profile = ReaderProfile("r1", habits=[habit])
    assert _mean_dice(profile, cases, "1.0") < 0.9
    assert _mean_dice(profile, cases, "1.1") == 1.0
    assert _mean_dice(profile, cases, "1.10") == 1.0


def test_habit_limited_to_labels(cases):
    profile = ReaderProfile("r1", habits=[ReaderHabits(miss_probability=1.0, labels={"finding"})])
    payloads = simulate_annotations(profile, cases[0], _guideline())
    assert not any(p["label"] == "finding" for p in payloads)
    assert any(p["label"] == "outline" for p in payloads)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"miss_probability": 1.5},
        {"boundary_noise_mm": -1.0},
        {"confusion": {"1": {"2": 0.5}}},
    ],
)
def test_bad_habits_are_refused(kwargs):
    with pytest.raises(SimulationError):
        ReaderHabits(**kwargs)


def test_bad_reader_name_is_refused():
    with pytest.raises(SimulationError):
        ReaderProfile("no spaces")
