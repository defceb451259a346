from __future__ import annotations

import json
from pathlib import Path

import pytest

import shared.schemas as schemas
from shared.schemas import (
    Guideline,
    GuidelineFormatError,
    GuidelineSchemaError,
    LabelKind,
    Scale,
    load_guideline,
)

EXAMPLE = Path(__file__).parents[4] / "docs" / "examples" / "guideline-lung-nodule.yaml"


def _minimal(**extra: object) -> dict[str, object]:
    return {
        "name": "breast",
        "version": "2",
        "title": "Mammography",
        "labels": [
            {
                "name": "birads",
                "kind": "classification",
                "definition": "BI-RADS assessment",
                "scale": "ordinal",
                "categories": [{"code": str(i), "meaning": f"BI-RADS {i}"} for i in range(7)],
                "required": True,
            },
            {"name": "mass", "kind": "polygon", "definition": "outline of a mass"},
        ],
        **extra,
    }


def test_exports_are_sorted_and_complete() -> None:
    assert schemas.__all__ == sorted(schemas.__all__)
    for name in schemas.__all__:
        assert hasattr(schemas, name)


def test_example_guideline_loads_with_every_kind() -> None:
    guideline = load_guideline(EXAMPLE)
    assert guideline.key == "lung-nodule@1.0"
    assert {label.kind for label in guideline.labels} == {
        LabelKind.MASK,
        LabelKind.BOX,
        LabelKind.CLASSIFICATION,
        LabelKind.KEYPOINT,
        LabelKind.LENGTH,
    }
    rads = guideline.label("lung-rads")
    assert rads is not None and rads.scale is Scale.ORDINAL
    assert guideline.required_labels == ("lung-rads",)
    assert guideline.confidence.contains(5) and not guideline.confidence.contains(6)


def test_json_and_yaml_give_the_same_canonical_hash(tmp_path: Path) -> None:
    data = _minimal()
    from_json = Guideline.from_json(json.dumps(data))
    as_yaml = tmp_path / "g.yaml"
    import yaml

    as_yaml.write_text(yaml.safe_dump(data))
    from_yaml = load_guideline(as_yaml)
    assert from_json.sha256 == from_yaml.sha256
    assert len(from_json.sha256) == 64
    label = from_json.label("birads")
    assert label is not None and label.category_codes == tuple(str(i) for i in range(7))
    changed = Guideline.from_json(json.dumps(_minimal(title="Mammography v2")))
    assert changed.sha256 != from_json.sha256


def test_nominal_is_the_default_scale() -> None:
    data = _minimal()
    data["labels"][0].pop("scale")  # type: ignore[index]
    label = Guideline.from_mapping(data).label("birads")
    assert label is not None and label.scale is Scale.NOMINAL


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["labels"].append(dict(d["labels"][1])), "unique"),
        (lambda d: d["labels"][0].update(categories=[{"code": "1", "meaning": "x"}]), "two"),
        (lambda d: d["labels"][1].update(scale="ordinal"), "only classification"),
        (lambda d: d["labels"][1].update(kind="scribble"), "labels.1.kind"),
        (lambda d: d.update(confidence={"minimum": 5, "maximum": 1}), "exceed"),
        (lambda d: d.update(readers_per_task=0), "readers_per_task"),
        (lambda d: d.pop("title"), "title"),
        (lambda d: d.update(surprise=True), "surprise"),
        (lambda d: d["labels"][1].update(adjudication_threshold=1.5), "adjudication_threshold"),
    ],
)
def test_schema_errors_name_the_problem(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(_minimal()))
    mutate(data)
    with pytest.raises(GuidelineSchemaError) as info:
        Guideline.from_mapping(data)
    assert message in str(info.value)
    assert info.value.problems


def test_format_errors(tmp_path: Path) -> None:
    with pytest.raises(GuidelineFormatError, match="not valid JSON"):
        Guideline.from_json("{nope")
    with pytest.raises(GuidelineFormatError, match="not valid YAML"):
        Guideline.from_yaml("a: [unclosed")
    with pytest.raises(GuidelineFormatError, match="mapping"):
        Guideline.from_yaml("- just\n- a list\n")
    with pytest.raises(GuidelineFormatError, match="cannot read"):
        load_guideline(tmp_path / "missing.yaml")
