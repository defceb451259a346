"""What a training run may be asked to do, and the plans a published guideline declares."""

from __future__ import annotations

from typing import Any

import pytest

from coordinator.errors import NotFoundError, TrainingRequestError
from coordinator.runtime import CoordinatorRuntime
from coordinator.training import Aggregation, TrainingRequest, check_aggregation, guideline_plan
from shared.errors import ConfigurationError
from shared.schemas import Guideline
from shared.schemas.training import TrainingPlan
from tests.support.learn_sites import tiny_plan

PLAN = TrainingPlan.model_validate(tiny_plan())


def _request(**overrides: Any) -> TrainingRequest:
    return TrainingRequest(**{"plan": PLAN, "project": "lesions", "rounds": 1, **overrides})


def test_a_sensible_request_passes() -> None:
    _request(aggregation=Aggregation.FEDMEDIAN, min_sites=2, from_model="seg:3").check()
    _request(secure_aggregation=True).check()
    assert _request(from_model="seg:3").model_source() == ("seg", 3)
    assert _request(from_model="seg").model_source() == ("seg", None)
    assert _request().model_source() is None


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"aggregation": Aggregation.KRUM, "secure_aggregation": True}, "individual update"),
        (
            {
                "plan": PLAN.model_copy(update={"update_clip_norm": None}),
                "secure_aggregation": True,
            },
            "update_clip_norm",
        ),
        ({"rounds": 0}, "at least 1"),
        ({"min_sites": 0}, "at least 1"),
        ({"expected_nodes": -1}, "0 or more"),
        ({"project": " "}, "project"),
        ({"options": {"trim-fraction": 0.5}}, "[0, 0.5)"),
        ({"options": {"krum-malicious": -1}}, "0 or more"),
        ({"from_model": "seg:latest"}, "NAME:VERSION"),
        ({"from_model": ":2"}, "NAME:VERSION"),
    ],
)
def test_requests_that_cannot_work_are_refused_saying_why(
    overrides: dict[str, Any], words: str
) -> None:
    with pytest.raises(TrainingRequestError, match=words.replace("[", r"\[").replace(")", r"\)")):
        _request(**overrides).check()


def test_the_refusal_is_a_configuration_error_for_the_command_line() -> None:
    # round train reports it as the configuration error it always was (exit code 2)
    with pytest.raises(ConfigurationError):
        check_aggregation(Aggregation.TRIMMED_MEAN, secure_aggregation=True)
    check_aggregation(Aggregation.FEDAVG, secure_aggregation=True)
    assert [a.robust for a in Aggregation] == [False, True, True, True]


def test_a_guideline_declares_the_plan(coordinator: CoordinatorRuntime) -> None:
    releases = coordinator.guidelines
    with pytest.raises(TrainingRequestError, match="no published guideline 'lesions'"):
        guideline_plan(releases, "lesions", None, "lesion-seg")
    for version, plans in (("1", []), ("2", [tiny_plan()])):
        document = {
            "name": "lesions",
            "version": version,
            "title": "Lesions",
            "labels": [{"name": "lesion", "kind": "mask", "definition": "a phantom lesion"}],
            "training_plans": plans,
        }
        releases.publish(Guideline.model_validate(document), published_by="editor")
    assert guideline_plan(releases, "lesions", None, "lesion-seg") == PLAN  # the newest
    with pytest.raises(TrainingRequestError, match=r"lesions@1 declares no training plan"):
        guideline_plan(releases, "lesions", "1", "lesion-seg")
    with pytest.raises(NotFoundError):
        guideline_plan(releases, "lesions", "7", "lesion-seg")
