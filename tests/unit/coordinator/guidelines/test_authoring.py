"""Checking a guideline draft: schema errors, version problems, the diff against the newest."""

from __future__ import annotations

import json

import pytest
import yaml

from coordinator.errors import InvalidGuidelineError
from coordinator.guidelines import check_draft
from coordinator.runtime import CoordinatorRuntime
from shared.schemas import Guideline
from tests.unit.coordinator.conftest import GUIDELINE


def test_a_first_version_is_publishable_and_has_no_diff(coordinator: CoordinatorRuntime) -> None:
    checked = check_draft(coordinator.guidelines, json.dumps(GUIDELINE), yaml=False)
    assert checked.publishable and checked.diff is None
    data = checked.to_json()
    assert data["name"] == "lung" and data["labels"] == [{"name": "nodule", "kind": "box"}]
    assert data["newest_published"] is None
    assert coordinator.guidelines.list() == []  # nothing stored


def test_a_yaml_draft_shows_its_diff_against_the_newest_release(
    coordinator: CoordinatorRuntime,
) -> None:
    coordinator.guidelines.publish(Guideline.from_json(json.dumps(GUIDELINE)), published_by="t")
    draft = {**GUIDELINE, "version": "2"}
    draft["labels"] = [{**GUIDELINE["labels"][0], "definition": "a solid nodule over 4 mm"}]
    checked = check_draft(coordinator.guidelines, yaml.safe_dump(draft), yaml=True)
    assert checked.publishable and checked.newest_published == "1"
    assert checked.diff is not None
    assert checked.to_json()["diff"]["rereview_labels"] == ["nodule"]


@pytest.mark.parametrize(
    ("version", "problem"), [("1", "not newer than the published 1"), ("v2", "not a numeric")]
)
def test_a_version_that_cannot_be_published_is_a_problem_not_an_error(
    coordinator: CoordinatorRuntime, version: str, problem: str
) -> None:
    coordinator.guidelines.publish(Guideline.from_json(json.dumps(GUIDELINE)), published_by="t")
    checked = check_draft(
        coordinator.guidelines, json.dumps({**GUIDELINE, "version": version}), yaml=False
    )
    assert not checked.publishable
    assert problem in checked.problems[0]


def test_schema_errors_name_each_field(coordinator: CoordinatorRuntime) -> None:
    broken = {**GUIDELINE, "labels": [{"name": "nodule", "kind": "blob"}]}
    with pytest.raises(InvalidGuidelineError, match=r"labels\.0\.kind.*labels\.0\.definition"):
        check_draft(coordinator.guidelines, json.dumps(broken), yaml=False)
    with pytest.raises(InvalidGuidelineError, match="not valid YAML"):
        check_draft(coordinator.guidelines, "a: [", yaml=True)
