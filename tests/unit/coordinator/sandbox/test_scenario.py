"""The sandbox's scenario: the ambiguous rule, its clarification, and readers who follow it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from coordinator.sandbox.scenario import (
    LABEL,
    READERS,
    REVISED_VERSION,
    guideline_document,
    reader_profiles,
    site_scenarios,
    training_plan,
)
from shared.formats import rle_decode
from shared.phantoms import generate_series
from shared.schemas import Guideline, TrainingPlan
from shared.schemas.guideline_diff import diff_guidelines
from shared.simulation import CaseTruth, simulate_annotations


def test_the_revision_changes_only_the_boundary_rule_of_the_lesion_label() -> None:
    first = Guideline.model_validate(guideline_document())
    revised = Guideline.model_validate(guideline_document(REVISED_VERSION))
    assert (first.version, revised.version) == ("1.0", "1.1")
    diff = diff_guidelines(first, revised)
    assert diff.rereview_labels == (LABEL,) or list(diff.rereview_labels) == [LABEL]


def test_sites_get_distinct_styles_and_cases_distinct_series_numbers() -> None:
    sites = site_scenarios(3, 4)
    assert [s.name for s in sites] == ["site-a", "site-b", "site-c"]
    assert len({s.style.name for s in sites}) == 3
    specs = [sites[0].case_spec(c) for c in range(4)]
    assert [s.series_number for s in specs] == [1, 2, 3, 4]
    assert len({s.seed for site in sites for s in (site.case_spec(0),)}) == 3
    with pytest.raises(ValueError, match="1 to 26 sites"):
        site_scenarios(0, 4)


def test_the_plan_is_a_valid_training_plan() -> None:
    plan = TrainingPlan.model_validate(training_plan())
    assert list(plan.labels) == [LABEL]


def _voxels(payloads: list[dict[str, Any]]) -> set[tuple[int, int, int]]:
    """The lesion mask's voxels as (slice, row, column)."""
    voxels: set[tuple[int, int, int]] = set()
    for payload in payloads:
        if payload["label"] != LABEL:
            continue
        for key, rle in payload["geometry"]["slices"].items():
            rows, columns = np.nonzero(rle_decode(rle))
            voxels |= {(int(key), int(r), int(c)) for r, c in zip(rows, columns, strict=True)}
    return voxels


def test_the_rim_reader_disagrees_under_1_0_and_follows_the_clarified_rule_under_1_1() -> None:
    site = site_scenarios(1, 1)[0]
    truth = CaseTruth.from_phantom(
        generate_series(site.case_spec(0)), categories={"grade": site.grade(0)}
    )
    profiles = reader_profiles(0)

    def dice(version: str) -> float:
        guideline = Guideline.model_validate(guideline_document(version))
        rim = _voxels(simulate_annotations(profiles[READERS[0]], truth, guideline))
        plain = _voxels(simulate_annotations(profiles[READERS[2]], truth, guideline))
        return 2 * len(rim & plain) / (len(rim) + len(plain))

    assert dice("1.0") < 0.8
    assert dice(REVISED_VERSION) > dice("1.0")
