from __future__ import annotations

from typing import Any

from shared.schemas import Guideline
from shared.schemas.guideline_diff import diff_guidelines

BASE: dict[str, Any] = {
    "name": "chest",
    "version": "1.0",
    "title": "Chest",
    "labels": [
        {"name": "lesion", "kind": "mask", "definition": "every lesion"},
        {"name": "finding", "kind": "box", "definition": "each lesion", "examples": ["a"]},
        {
            "name": "grade",
            "kind": "classification",
            "definition": "grade",
            "categories": [
                {"code": "1", "meaning": "benign"},
                {"code": "2", "meaning": "probably benign"},
                {"code": "3", "meaning": "suspicious"},
            ],
        },
        {"name": "gone", "kind": "keypoint", "definition": "a point"},
    ],
}


def _revised(**label_changes: dict[str, Any]) -> Guideline:
    labels = []
    for label in BASE["labels"]:
        if label["name"] in label_changes:
            label = {**label, **label_changes[label["name"]]}
        labels.append(label)
    return Guideline.model_validate({**BASE, "version": "1.1", "labels": labels})


def test_identical_versions_have_no_changes():
    g = Guideline.model_validate(BASE)
    diff = diff_guidelines(g, g)
    assert diff.changed == () and diff.added == () and diff.removed == ()
    assert diff.rereview_labels == ()


def test_meaning_threshold_and_cosmetic_changes_are_told_apart():
    before = Guideline.model_validate(BASE)
    after = _revised(
        lesion={"boundary_rules": "exclude vessels"},
        finding={"examples": ["b"], "agreement_target": 0.7},
    )
    diff = diff_guidelines(before, after)
    by_label = {c.label: c for c in diff.changed}
    assert by_label["lesion"].meaning_changed
    assert not by_label["finding"].meaning_changed
    groups = {c.field: c.group for c in by_label["finding"].changes}
    assert groups == {"examples": "cosmetic", "agreement_target": "threshold"}
    assert diff.rereview_labels == ("lesion",)
    data = diff.to_json()
    assert data["from"] == "1.0" and data["to"] == "1.1"
    finding = next(c for c in data["labels"]["changed"] if c["label"] == "finding")
    assert finding["thresholds"] == [
        {"field": "agreement_target", "from": 0.8, "to": 0.7, "group": "threshold"}
    ]


def test_categories_added_removed_and_redefined():
    before = Guideline.model_validate(BASE)
    cats = [
        {"code": "1", "meaning": "Benign"},
        {"code": "2", "meaning": "probably benign", "definition": "under 2 % malignancy"},
        {"code": "4", "meaning": "malignant"},
    ]
    diff = diff_guidelines(before, _revised(grade={"categories": cats}))
    change = diff.changed[0]
    assert change.categories_added == ("4",)
    assert change.categories_removed == ("3",)
    codes = {c.code: [f.group for f in c.changes] for c in change.categories_changed}
    assert codes == {"1": ["cosmetic"], "2": ["meaning"]}
    assert diff.rereview_labels == ("grade",)


def test_cosmetic_category_rename_alone_is_not_meaning():
    before = Guideline.model_validate(BASE)
    cats = [dict(c) for c in BASE["labels"][2]["categories"]]
    cats[0]["meaning"] = "Benign finding"
    diff = diff_guidelines(before, _revised(grade={"categories": cats}))
    assert diff.changed and not diff.changed[0].meaning_changed
    assert diff.rereview_labels == ()


def test_labels_added_and_removed_and_title():
    before = Guideline.model_validate(BASE)
    labels = [*BASE["labels"][:3]]
    labels.append({"name": "size", "kind": "length", "definition": "d", "required": True})
    labels.append({"name": "note", "kind": "keypoint", "definition": "n"})
    after = Guideline.model_validate(
        {**BASE, "version": "2", "title": "Chest v2", "labels": labels}
    )
    diff = diff_guidelines(before, after)
    assert diff.added == ("size", "note")
    assert diff.removed == ("gone",)
    assert diff.rereview_labels == ("size",)
    assert [c.field for c in diff.guideline_changes] == ["title"]
