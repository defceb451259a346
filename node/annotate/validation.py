"""Validation of an annotation on save, against its guideline version and its series.

:func:`validate_annotation` checks, in this order, and raises the first
failure as its own typed error (each a :class:`~node.errors.ValidationFailedError`,
HTTP 422) with a message that says what to change:

1. the label exists in the guideline version (:class:`UnknownLabelError`);
2. the kind is the label's kind (:class:`KindMismatchError`);
3. the confidence lies on the guideline's scale (:class:`ConfidenceOutOfScaleError`);
4. a classification value is one of the label's categories (:class:`UnknownCategoryError`);
5. the geometry lies inside the image: slice index, then coordinates against
   that slice's rows and columns, RLE sizes (:class:`GeometryOutOfImageError`);
6. a polygon is simple (:class:`SelfIntersectingPolygonError`);
7. a mask has at least one foreground pixel (:class:`EmptyMaskError`);
8. it does not duplicate a live annotation of the same reader and label with
   identical geometry; a classification label takes one live answer per reader
   (:class:`DuplicateAnnotationError`).

It returns the payload to store: normalised JSON, with ``length_mm`` computed
for lengths and interpolated slices filled in for masks.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from node.annotate.records import TaskSlice
from node.errors import (
    ConfidenceOutOfScaleError,
    DuplicateAnnotationError,
    EmptyMaskError,
    GeometryOutOfImageError,
    InvalidPayloadError,
    KindMismatchError,
    SelfIntersectingPolygonError,
    UnknownCategoryError,
    UnknownLabelError,
)
from shared.formats.errors import FormatInputError
from shared.formats.interpolate import interpolate_key_slices
from shared.formats.polygon import polygon_is_simple
from shared.formats.rle import rle_decode, rle_encode
from shared.schemas import (
    AnnotationPayload,
    AnnotationSchemaError,
    BoxGeometry,
    Guideline,
    KeypointGeometry,
    LengthGeometry,
    MaskGeometry,
    PolygonGeometry,
    parse_annotation,
)

__all__ = [
    "LiveAnnotation",
    "check_annotation",
    "check_duplicate",
    "geometry_key",
    "length_mm",
    "parse_payload",
    "validate_annotation",
]


def parse_payload(data: object) -> AnnotationPayload:
    """Parse a client's payload, turning shape problems into :class:`InvalidPayloadError`."""
    try:
        return parse_annotation(data)
    except AnnotationSchemaError as exc:
        raise InvalidPayloadError(str(exc)) from None


def geometry_key(payload: dict[str, Any]) -> str:
    """SHA-256 of a stored payload's canonical geometry, for duplicate detection."""
    text = json.dumps(payload.get("geometry") or {}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class LiveAnnotation:
    """What duplicate detection needs of an existing live annotation."""

    annotation_id: int
    label: str
    geometry_sha256: str


def length_mm(geometry: LengthGeometry, spacing: tuple[float, float] | None) -> float | None:
    """Length of a segment in mm from the slice's (row, column) pixel spacing."""
    if spacing is None:
        return None
    row_mm, column_mm = spacing
    return math.hypot((geometry.x1 - geometry.x0) * column_mm, (geometry.y1 - geometry.y0) * row_mm)


def _slice_of(index: int, slices: Sequence[TaskSlice], label: str) -> TaskSlice:
    if index >= len(slices):
        raise GeometryOutOfImageError(
            f"slice {index} is outside the series, which has {len(slices)} slice(s) "
            f"(0..{len(slices) - 1})",
            label=label,
            field="geometry.slice",
        )
    return slices[index]


def _inside(x: float, y: float, image: TaskSlice, label: str, what: str) -> None:
    if not (0.0 <= x <= image.columns and 0.0 <= y <= image.rows):
        raise GeometryOutOfImageError(
            f"{what} ({x:g}, {y:g}) lies outside slice {image.index}, which is "
            f"{image.columns} columns × {image.rows} rows (x in 0..{image.columns}, "
            f"y in 0..{image.rows})",
            label=label,
            field="geometry",
        )


def _canonical_counts(counts: Sequence[int]) -> list[int]:
    """The same runs with zero-length runs dropped and neighbours merged (first run zeros)."""
    runs: list[list[int]] = []  # [value, length]
    value = 0
    for length in counts:
        if length:
            if runs and runs[-1][0] == value:
                runs[-1][1] += length
            else:
                runs.append([value, length])
        value ^= 1
    leading = [] if runs and runs[0][0] == 0 else [0]
    return leading + [length for _, length in runs]


def _check_mask(geometry: MaskGeometry, slices: Sequence[TaskSlice], label: str) -> dict[str, Any]:
    for key, rle in geometry.slices.items():
        image = _slice_of(int(key), slices, label)
        if tuple(rle.size) != (image.rows, image.columns):
            raise GeometryOutOfImageError(
                f"the mask of slice {key} is {rle.size[0]}×{rle.size[1]} but the slice is "
                f"{image.rows}×{image.columns} (rows × columns); encode the whole slice",
                label=label,
                field=f"geometry.slices.{key}",
            )
    encoded: dict[str, dict[str, Any]] = {
        str(int(key)): {"size": list(rle.size), "counts": _canonical_counts(rle.counts)}
        for key, rle in geometry.slices.items()
        if rle.foreground
    }
    if geometry.interpolate:
        keys = {k: rle_decode(geometry.slices[str(k)].model_dump()) for k in geometry.key_slices}
        try:
            filled = interpolate_key_slices(keys)
        except FormatInputError as exc:
            raise InvalidPayloadError(
                f"cannot interpolate between key slices: {exc}", label=label
            ) from None
        for k, mask in filled.items():
            if k not in keys and mask.any():
                encoded[str(k)] = dict(rle_encode(mask))
    if not encoded:
        raise EmptyMaskError(
            "the mask has no foreground pixel on any slice; paint the finding, or save "
            "with 'cannot_assess': true",
            label=label,
            field="geometry.slices",
        )
    return {
        "slices": {k: encoded[k] for k in sorted(encoded, key=int)},
        "key_slices": list(geometry.key_slices),
        "interpolate": geometry.interpolate,
    }


def _check_geometry(
    payload: AnnotationPayload, slices: Sequence[TaskSlice], label: str
) -> dict[str, Any]:
    geometry = payload.geometry
    assert geometry is not None
    stored: dict[str, Any] = geometry.model_dump(mode="json")
    if isinstance(geometry, BoxGeometry | LengthGeometry):
        image = _slice_of(geometry.slice, slices, label)
        what = "corner" if payload.kind == "box" else "end"
        _inside(geometry.x0, geometry.y0, image, label, what)
        _inside(geometry.x1, geometry.y1, image, label, what)
        if isinstance(geometry, LengthGeometry):
            stored["length_mm"] = length_mm(geometry, image.pixel_spacing)
    elif isinstance(geometry, KeypointGeometry):
        _inside(geometry.x, geometry.y, _slice_of(geometry.slice, slices, label), label, "point")
    elif isinstance(geometry, PolygonGeometry):
        image = _slice_of(geometry.slice, slices, label)
        for x, y in geometry.points:
            _inside(x, y, image, label, "vertex")
        points = [list(p) for p in geometry.points]
        try:
            simple = polygon_is_simple(points)
        except FormatInputError as exc:
            raise SelfIntersectingPolygonError(
                f"the polygon is degenerate: {exc}", label=label, field="geometry.points"
            ) from None
        if not simple:
            raise SelfIntersectingPolygonError(
                "the polygon's edges cross or touch each other; draw its outline without "
                "crossing itself, or split it into separate polygons",
                label=label,
                field="geometry.points",
            )
    elif isinstance(geometry, MaskGeometry):
        stored = _check_mask(geometry, slices, label)
    return stored


def validate_annotation(
    payload: AnnotationPayload,
    guideline: Guideline,
    slices: Sequence[TaskSlice],
    *,
    live: Sequence[LiveAnnotation] = (),
) -> dict[str, Any]:
    """Check ``payload`` (rules 1-8) and return the JSON to store.

    The same as :func:`check_annotation` followed by :func:`check_duplicate`.
    """
    stored = check_annotation(payload, guideline, slices)
    check_duplicate(stored, live)
    return stored


def check_annotation(
    payload: AnnotationPayload, guideline: Guideline, slices: Sequence[TaskSlice]
) -> dict[str, Any]:
    """Check rules 1-7 (everything but duplicates) and return the JSON to store.

    Parameters
    ----------
    payload
        The parsed payload.
    guideline
        The task's guideline version.
    slices
        The task's slices in reading order.
    """
    label = guideline.label(payload.label)
    if label is None:
        names = ", ".join(item.name for item in guideline.labels)
        raise UnknownLabelError(
            f"label {payload.label!r} is not in guideline {guideline.key}; its labels are: {names}",
            label=payload.label,
            field="label",
        )
    if label.kind.value != payload.kind:
        raise KindMismatchError(
            f"label {label.name!r} is a {label.kind.value} in guideline {guideline.key}, "
            f"not a {payload.kind}; save it as kind {label.kind.value!r}",
            label=label.name,
            field="kind",
        )
    scale = guideline.confidence
    if payload.confidence is not None and not scale.contains(payload.confidence):
        raise ConfidenceOutOfScaleError(
            f"confidence {payload.confidence} is outside the guideline's scale "
            f"{scale.minimum}..{scale.maximum}",
            label=label.name,
            field="confidence",
        )
    stored: dict[str, Any] = payload.model_dump(mode="json", exclude={"geometry"})
    if payload.geometry is None:
        stored["geometry"] = {}
    elif payload.kind == "classification":
        value = payload.geometry.value
        if label.category(value) is None:
            raise UnknownCategoryError(
                f"{value!r} is not a category of {label.name!r}; choose one of "
                f"{', '.join(label.category_codes)}",
                label=label.name,
                field="geometry.value",
            )
        stored["geometry"] = {"value": value}
    else:
        stored["geometry"] = _check_geometry(payload, slices, label.name)
    return stored


def check_duplicate(stored: dict[str, Any], live: Sequence[LiveAnnotation]) -> None:
    """Rule 8: refuse a duplicate of the reader's other live annotations of the label.

    ``live`` excludes the annotation being revised.
    """
    same_label = [a for a in live if a.label == stored["label"]]
    if stored["kind"] == "classification" and same_label:
        existing = same_label[0]
        raise DuplicateAnnotationError(
            f"you already answered {stored['label']!r} in annotation "
            f"{existing.annotation_id}; revise that annotation instead of adding another",
            label=stored["label"],
            existing_annotation_id=existing.annotation_id,
        )
    key = geometry_key(stored)
    for existing in same_label:
        if existing.geometry_sha256 == key:
            raise DuplicateAnnotationError(
                f"annotation {existing.annotation_id} already marks {stored['label']!r} with "
                "identical geometry; this would be a duplicate",
                label=stored["label"],
                existing_annotation_id=existing.annotation_id,
            )
