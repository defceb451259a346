"""Every validation rule on save, each with its own error type and a specific message."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from node.annotate import validate_annotation
from node.annotate.validation import parse_payload
from node.errors import (
    ConfidenceOutOfScaleError,
    DuplicateAnnotationError,
    EmptyMaskError,
    GeometryOutOfImageError,
    InvalidPayloadError,
    KindMismatchError,
    MissingRequiredLabelsError,
    SelfIntersectingPolygonError,
    UnknownCategoryError,
    UnknownLabelError,
    ValidationFailedError,
)
from shared.formats.rle import rle_decode, rle_encode
from shared.schemas import Guideline
from tests.unit.node.annotate.conftest import COLUMNS, ROWS, SLICES, World, box, principal, rads


def mask(slices: dict[int, np.ndarray], **extra: Any) -> dict[str, Any]:
    return {
        "label": "nodule-mask",
        "kind": "mask",
        "geometry": {"slices": {str(k): rle_encode(v) for k, v in slices.items()}, **extra},
    }


def disc(cx: int, cy: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[:ROWS, :COLUMNS]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        ({**box(), "label": "tumour"}, UnknownLabelError, "not in guideline lung-nodule@1.0"),
        ({**box(), "label": "nodule-mask"}, KindMismatchError, "is a mask"),
        (
            {**box(), "confidence": 9},
            ConfidenceOutOfScaleError,
            "outside the guideline's scale 1..5",
        ),
        (rads("5"), UnknownCategoryError, "choose one of 0, 1, 2, 3, 4A, 4B, 4X"),
        (box(slice_=SLICES), GeometryOutOfImageError, f"series, which has {SLICES} slice"),
        (box(x1=COLUMNS + 1), GeometryOutOfImageError, "outside slice 1"),
        (
            {
                "label": "nodule-centre",
                "kind": "keypoint",
                "geometry": {"slice": 0, "x": 5, "y": -1},
            },
            GeometryOutOfImageError,
            "point (5, -1)",
        ),
        (
            {
                "label": "nodule-diameter",
                "kind": "length",
                "geometry": {"slice": 0, "x0": 1, "y0": 1, "x1": 1, "y1": 99},
            },
            GeometryOutOfImageError,
            "end (1, 99)",
        ),
        (
            mask({0: np.zeros((8, 8), bool)}),
            GeometryOutOfImageError,
            "the mask of slice 0 is 8×8",
        ),
        (mask({0: np.zeros((ROWS, COLUMNS), bool)}), EmptyMaskError, "no foreground pixel"),
        ({**box(), "geometry": {}}, InvalidPayloadError, "cannot_assess"),
        ({"label": "nodule-box"}, InvalidPayloadError, "malformed"),
    ],
)
def test_each_rule_has_its_error(
    world: World, payload: dict[str, Any], error: type[ValidationFailedError], message: str
) -> None:
    with pytest.raises(error) as info:
        world.save("alice", payload)
    assert message in str(info.value)


def test_self_intersecting_polygon(world: World) -> None:
    data = world.guideline.model_dump(mode="json")
    data["labels"].append({"name": "outline", "kind": "polygon", "definition": "an outline"})
    guideline = Guideline.model_validate(data)
    slices = world.service.tasks.view(world.task_id, principal("alice")).task.slices
    bowtie = {
        "label": "outline",
        "kind": "polygon",
        "geometry": {"slice": 0, "points": [[0, 0], [10, 10], [10, 0], [0, 10]]},
    }
    with pytest.raises(SelfIntersectingPolygonError, match="cross"):
        validate_annotation(parse_payload(bowtie), guideline, slices)
    square = {**bowtie, "geometry": {"slice": 0, "points": [[0, 0], [10, 0], [10, 10], [0, 10]]}}
    assert validate_annotation(parse_payload(square), guideline, slices)["geometry"]["slice"] == 0


def test_duplicate_geometry_and_second_classification(world: World) -> None:
    first = world.save("alice", box())
    with pytest.raises(DuplicateAnnotationError) as info:
        world.save("alice", box())
    assert info.value.existing_annotation_id == first
    assert "identical geometry" in str(info.value)
    world.save("bob", box())  # another reader may draw the same box
    world.save("alice", box(x0=11))  # a different box is fine
    world.save("alice", rads("2"))
    with pytest.raises(DuplicateAnnotationError, match="revise that annotation"):
        world.save("alice", rads("3"))


def test_deleted_annotation_is_no_duplicate(world: World) -> None:
    aid = world.save("alice", box())
    world.service.revisions.tombstone(aid, "alice", 1)
    world.save("alice", box())


def test_required_labels_at_completion(world: World) -> None:
    world.save("alice", box())
    with pytest.raises(MissingRequiredLabelsError) as info:
        world.service.tasks.complete(world.task_id, "alice")
    assert info.value.missing == ("lung-rads",)
    assert "lung-rads" in str(info.value)
    world.save("alice", {**rads("1"), "cannot_assess": True, "geometry": {}})
    assert world.service.tasks.complete(world.task_id, "alice").part("alice").status == "done"  # type: ignore[union-attr]


def test_length_gets_mm_and_mask_interpolates(world: World) -> None:
    saved = world.service.revisions.create(
        world.task_id,
        "alice",
        {
            "label": "nodule-diameter",
            "kind": "length",
            "geometry": {"slice": 0, "x0": 0, "y0": 0, "x1": 3, "y1": 4},
        },
    )
    view = world.service.tasks.view(
        world.task_id,
        principal("alice"),
    )
    row_mm, col_mm = view.task.slices[0].pixel_spacing  # type: ignore[misc]
    assert saved.payload["geometry"]["length_mm"] == pytest.approx(np.hypot(3 * col_mm, 4 * row_mm))
    made = world.service.revisions.create(
        world.task_id,
        "alice",
        mask({0: disc(30, 30, 4), 3: disc(30, 30, 10)}, key_slices=[0, 3], interpolate=True),
    )
    slices = made.payload["geometry"]["slices"]
    assert sorted(slices, key=int) == ["0", "1", "2", "3"]
    areas = [int(rle_decode(slices[k]).sum()) for k in ("0", "1", "2", "3")]
    assert areas == sorted(areas) and areas[0] < areas[3]


def test_mask_rle_is_stored_canonically_so_re_encodings_are_duplicates(world: World) -> None:
    total = ROWS * COLUMNS
    plain = {"size": [ROWS, COLUMNS], "counts": [10, 5, total - 15]}
    padded = {"size": [ROWS, COLUMNS], "counts": [10, 2, 0, 3, total - 15]}
    empty_slice = {"size": [ROWS, COLUMNS], "counts": [total]}
    payload = {
        "label": "nodule-mask",
        "kind": "mask",
        "geometry": {"slices": {"0": padded, "1": empty_slice}},
    }
    saved = world.service.revisions.create(world.task_id, "alice", payload)
    assert saved.payload["geometry"]["slices"] == {"0": plain}
    with pytest.raises(DuplicateAnnotationError):
        world.save("alice", {**payload, "geometry": {"slices": {"0": plain}}})
