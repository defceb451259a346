import json
from pathlib import Path

import pytest
import yaml

from shared.schemas import (
    Architecture,
    Compression,
    Guideline,
    GuidelineSchemaError,
    PrivacyUnit,
    TrainingPlan,
    TrainingPlanFormatError,
    TrainingPlanSchemaError,
    TrainingTask,
    load_guideline,
)

EXAMPLE = Path(__file__).parents[4] / "docs" / "examples" / "guideline-lung-nodule.yaml"


def _seg(**extra: object) -> dict[str, object]:
    return {"name": "nodule-seg", "task": "segmentation", "labels": ["nodule-mask"], **extra}


def _cls(**extra: object) -> dict[str, object]:
    return {
        "name": "rads",
        "task": "classification",
        "labels": ["lung-rads"],
        "classes": ["1", "2", "3", "4A", "4B", "4X"],
        "model": {"architecture": "densenet"},
        **extra,
    }


def test_defaults_for_a_segmentation_plan() -> None:
    plan = TrainingPlan.from_mapping(_seg())
    assert plan.task is TrainingTask.SEGMENTATION
    assert plan.model.architecture is Architecture.UNET
    assert plan.input.channels == 1
    assert plan.out_channels == 1
    assert plan.privacy is None
    assert plan.compression is Compression.NONE


def test_25d_channels_and_privacy_block() -> None:
    plan = TrainingPlan.from_mapping(
        _seg(
            input={"size": 32, "context_slices": 2},
            privacy={"noise_multiplier": 1.1, "max_grad_norm": 1.0},
            compression="int8",
        )
    )
    assert plan.input.channels == 5
    assert plan.privacy is not None and plan.privacy.unit is PrivacyUnit.CASE
    assert plan.privacy.delta == 1e-5
    assert plan.compression is Compression.INT8


def test_json_and_yaml_round_trip() -> None:
    plan = TrainingPlan.from_mapping(_cls())
    assert TrainingPlan.from_json(plan.canonical_json()) == plan
    assert TrainingPlan.from_yaml(yaml.safe_dump(json.loads(plan.canonical_json()))) == plan
    assert plan.out_channels == 6


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (_seg(model={"architecture": "cnn"}), "needs the 'unet' architecture"),
        (_cls(model={"architecture": "unet"}), "'cnn' or 'densenet'"),
        (_cls(classes=["1"]), "at least two distinct classes"),
        (_cls(labels=["a", "b"]), "exactly one classification label"),
        (_seg(input={"size": 62}), "divisible by 2**2"),
        (_seg(model={"features": [12, 24], "groups": 8}), "multiple of groups=8"),
        (_seg(labels=["x", "x"]), "repeat"),
        (_seg(privacy={"noise_multiplier": 0, "max_grad_norm": 1}), "privacy.noise_multiplier"),
        (_seg(compression="zip"), "compression"),
        (_seg(surprise=1), "surprise"),
        (_seg(input={"window": [40, 0]}), "window width"),
    ],
)
def test_schema_errors_name_the_problem(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(TrainingPlanSchemaError) as caught:
        TrainingPlan.from_mapping(data, source="plan.yaml")
    assert fragment in str(caught.value)
    assert str(caught.value).startswith("plan.yaml is not a valid training plan")
    assert caught.value.problems


def test_format_errors() -> None:
    with pytest.raises(TrainingPlanFormatError, match="not valid JSON"):
        TrainingPlan.from_json("{")
    with pytest.raises(TrainingPlanFormatError, match="not valid YAML"):
        TrainingPlan.from_yaml("a: [")
    with pytest.raises(TrainingPlanFormatError, match="must be a mapping"):
        TrainingPlan.from_yaml("- 1")


def test_check_against_the_guideline() -> None:
    guideline = load_guideline(EXAMPLE)
    TrainingPlan.from_mapping(_seg()).check_against(guideline)
    TrainingPlan.from_mapping(_cls()).check_against(guideline)
    with pytest.raises(TrainingPlanSchemaError, match="is a box label"):
        TrainingPlan.from_mapping(_seg(labels=["nodule-box"])).check_against(guideline)
    with pytest.raises(TrainingPlanSchemaError, match="not in the guideline"):
        TrainingPlan.from_mapping(_seg(labels=["liver"])).check_against(guideline)
    TrainingPlan.from_mapping(_cls(classes=["1", "2"])).check_against(guideline)  # a subset
    with pytest.raises(TrainingPlanSchemaError, match=r"classes \['9'\] are not categories"):
        TrainingPlan.from_mapping(_cls(classes=["1", "9"])).check_against(guideline)


def test_plans_inside_a_guideline() -> None:
    base = load_guideline(EXAMPLE)
    data = base.model_dump(mode="json")
    data.pop("training_plans")
    without = Guideline.from_mapping(data)
    assert without.sha256 == base.sha256
    assert "training_plans" not in json.loads(without.canonical_json())
    data["training_plans"] = [_seg(), _cls()]
    with_plans = Guideline.from_mapping(data)
    assert with_plans.sha256 != base.sha256
    plan = with_plans.training_plan("rads")
    assert plan is not None and plan.classes[0] == "1"
    assert with_plans.training_plan("missing") is None
    data["training_plans"] = [_seg(labels=["nodule-box"])]
    with pytest.raises(GuidelineSchemaError, match="is a box label"):
        Guideline.from_mapping(data)
    data["training_plans"] = [_seg(), _seg()]
    with pytest.raises(GuidelineSchemaError, match="plan names must be unique"):
        Guideline.from_mapping(data)
