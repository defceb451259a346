"""What changed between two versions of a guideline, and which changes alter meaning.

:func:`diff_guidelines` compares two :class:`~shared.schemas.Guideline`
versions label by label. Each label's field changes are sorted into three
groups:

=========== =================================================================
meaning     ``kind``, ``definition``, ``criteria``, ``boundary_rules``,
            ``edge_cases``, ``scale``, and categories added, removed, or with
            a changed ``definition``: what a reader must draw or choose
threshold   ``adjudication_threshold``, ``agreement_target``, ``match_iou``,
            ``match_distance_mm``, ``required``: how agreement is judged
cosmetic    ``examples`` and a category's display ``meaning``
=========== =================================================================

:attr:`GuidelineDiff.rereview_labels` names the labels whose existing
annotations may no longer follow the guideline: labels changed in meaning, and
new *required* labels (finished tasks lack them). A node moving a project to
the new version sends the tasks holding those labels to re-review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.schemas.guideline import Category, Guideline, Label

__all__ = [
    "COSMETIC_FIELDS",
    "MEANING_FIELDS",
    "THRESHOLD_FIELDS",
    "CategoryChange",
    "FieldChange",
    "GuidelineDiff",
    "LabelChange",
    "diff_guidelines",
]

MEANING_FIELDS = ("kind", "definition", "criteria", "boundary_rules", "edge_cases", "scale")
"""Label fields whose change alters what a reader must draw or choose."""
THRESHOLD_FIELDS = (
    "adjudication_threshold",
    "agreement_target",
    "match_iou",
    "match_distance_mm",
    "required",
)
"""Label fields that change how agreement is judged, not what is annotated."""
COSMETIC_FIELDS = ("examples",)
"""Label fields that change nothing a reader decides."""
_GUIDELINE_FIELDS = ("title", "description", "confidence", "readers_per_task")


def _json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "value"):
        return value.value
    return value


@dataclass(frozen=True)
class FieldChange:
    """One field's value before and after (JSON values)."""

    field: str
    before: Any
    after: Any
    group: str = "meaning"

    def to_json(self) -> dict[str, Any]:
        """JSON form: ``{"field", "from", "to", "group"}``."""
        return {"field": self.field, "from": self.before, "to": self.after, "group": self.group}


@dataclass(frozen=True)
class CategoryChange:
    """A category present in both versions whose text changed."""

    code: str
    changes: tuple[FieldChange, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"code": self.code, "changes": [c.to_json() for c in self.changes]}


@dataclass(frozen=True)
class LabelChange:
    """A label present in both versions that changed."""

    label: str
    changes: tuple[FieldChange, ...] = ()
    categories_added: tuple[str, ...] = ()
    categories_removed: tuple[str, ...] = ()
    categories_changed: tuple[CategoryChange, ...] = ()

    @property
    def meaning_changed(self) -> bool:
        """Whether a reader would now draw or choose differently."""
        return (
            any(c.group == "meaning" for c in self.changes)
            or bool(self.categories_added or self.categories_removed)
            or any(c.group == "meaning" for cat in self.categories_changed for c in cat.changes)
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "label": self.label,
            "meaning_changed": self.meaning_changed,
            "changes": [c.to_json() for c in self.changes],
            "thresholds": [c.to_json() for c in self.changes if c.group == "threshold"],
            "categories": {
                "added": list(self.categories_added),
                "removed": list(self.categories_removed),
                "changed": [c.to_json() for c in self.categories_changed],
            },
        }


@dataclass(frozen=True)
class GuidelineDiff:
    """The structured difference between two versions of one guideline."""

    name: str
    from_version: str
    to_version: str
    added: tuple[str, ...] = ()
    added_required: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[LabelChange, ...] = ()
    guideline_changes: tuple[FieldChange, ...] = field(default=())

    @property
    def meaning_changed_labels(self) -> tuple[str, ...]:
        """Labels in both versions whose meaning changed."""
        return tuple(c.label for c in self.changed if c.meaning_changed)

    @property
    def rereview_labels(self) -> tuple[str, ...]:
        """Labels whose existing annotations need another look under the new version."""
        return tuple(sorted({*self.meaning_changed_labels, *self.added_required}))

    def to_json(self) -> dict[str, Any]:
        """JSON form (the coordinator's ``/diff`` answer)."""
        return {
            "name": self.name,
            "from": self.from_version,
            "to": self.to_version,
            "labels": {
                "added": list(self.added),
                "removed": list(self.removed),
                "changed": [c.to_json() for c in self.changed],
            },
            "guideline": [c.to_json() for c in self.guideline_changes],
            "meaning_changed": list(self.meaning_changed_labels),
            "rereview_labels": list(self.rereview_labels),
        }


def _field_changes(
    before: Label | Category | Guideline, after: Label | Category | Guideline, fields: Any
) -> list[FieldChange]:
    out = []
    for name, group in fields:
        old, new = _json(getattr(before, name)), _json(getattr(after, name))
        if old != new:
            out.append(FieldChange(name, old, new, group))
    return out


def _label_change(before: Label, after: Label) -> LabelChange | None:
    groups = [(f, "meaning") for f in MEANING_FIELDS]
    groups += [(f, "threshold") for f in THRESHOLD_FIELDS]
    groups += [(f, "cosmetic") for f in COSMETIC_FIELDS]
    changes = _field_changes(before, after, groups)
    old = {c.code: c for c in before.categories}
    new = {c.code: c for c in after.categories}
    changed = []
    for code in (c for c in old if c in new):
        fields = _field_changes(
            old[code], new[code], [("definition", "meaning"), ("meaning", "cosmetic")]
        )
        if fields:
            changed.append(CategoryChange(code, tuple(fields)))
    order = [c for c in old if c in new]
    if order != [c for c in new if c in old]:
        changes.append(FieldChange("category_order", order, [c for c in new if c in old]))
    result = LabelChange(
        before.name,
        tuple(changes),
        tuple(c for c in new if c not in old),
        tuple(c for c in old if c not in new),
        tuple(changed),
    )
    if not (
        result.changes
        or result.categories_added
        or result.categories_removed
        or result.categories_changed
    ):
        return None
    return result


def diff_guidelines(before: Guideline, after: Guideline) -> GuidelineDiff:
    """The structured difference from ``before`` to ``after`` (same guideline name expected).

    Parameters
    ----------
    before, after
        Two versions; labels are matched by name (a renamed label is one
        removed and one added).

    Returns
    -------
    GuidelineDiff
        Labels added, removed and changed, with per-field changes grouped into
        meaning, threshold and cosmetic changes.
    """
    old = {label.name: label for label in before.labels}
    new = {label.name: label for label in after.labels}
    changed = [
        change
        for name in old
        if name in new and (change := _label_change(old[name], new[name])) is not None
    ]
    added = tuple(name for name in new if name not in old)
    return GuidelineDiff(
        name=after.name,
        from_version=before.version,
        to_version=after.version,
        added=added,
        added_required=tuple(name for name in added if new[name].required),
        removed=tuple(name for name in old if name not in new),
        changed=tuple(changed),
        guideline_changes=tuple(
            _field_changes(before, after, [(f, "cosmetic") for f in _GUIDELINE_FIELDS])
        ),
    )
