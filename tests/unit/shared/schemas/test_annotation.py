from __future__ import annotations

import pytest

from shared.schemas import (
    AnnotationSchemaError,
    BoxAnnotation,
    MaskAnnotation,
    PolygonAnnotation,
    parse_annotation,
)


def _rle(rows: int = 2, cols: int = 2) -> dict[str, object]:
    return {"size": [rows, cols], "counts": [1, 2, rows * cols - 3]}


def test_discriminated_by_kind() -> None:
    box = parse_annotation(
        {"label": "n", "kind": "box", "geometry": {"slice": 0, "x0": 1, "y0": 1, "x1": 2, "y1": 3}}
    )
    assert isinstance(box, BoxAnnotation) and box.confidence is None and not box.cannot_assess
    polygon = parse_annotation(
        {
            "label": "n",
            "kind": "polygon",
            "geometry": {"slice": 2, "points": [[0, 0], [1, 0], [0, 1]]},
        }
    )
    assert isinstance(polygon, PolygonAnnotation)
    mask = parse_annotation(
        {
            "label": "n",
            "kind": "mask",
            "geometry": {
                "slices": {"3": _rle(), "5": _rle()},
                "key_slices": [3, 5],
                "interpolate": True,
            },
        }
    )
    assert isinstance(mask, MaskAnnotation)
    assert mask.geometry is not None and mask.geometry.slice_indices() == [3, 5]
    assert mask.geometry.slices["3"].foreground == 2


def test_cannot_assess_allows_empty_geometry() -> None:
    payload = parse_annotation(
        {"label": "n", "kind": "keypoint", "cannot_assess": True, "geometry": {}}
    )
    assert payload.geometry is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"label": "n", "kind": "box", "geometry": {}}, "cannot_assess"),
        ({"label": "n", "kind": "blob", "geometry": {}}, "kind"),
        (
            {
                "label": "n",
                "kind": "box",
                "geometry": {"slice": 0, "x0": 3, "y0": 1, "x1": 2, "y1": 3},
            },
            "x0 < x1",
        ),
        (
            {
                "label": "n",
                "kind": "box",
                "geometry": {"slice": -1, "x0": 1, "y0": 1, "x1": 2, "y1": 3},
            },
            "slice",
        ),
        (
            {"label": "n", "kind": "polygon", "geometry": {"slice": 0, "points": [[0, 0], [1, 1]]}},
            "points",
        ),
        (
            {
                "label": "n",
                "kind": "mask",
                "geometry": {"slices": {"0": {"size": [2, 2], "counts": [1, 2]}}},
            },
            "add up",
        ),
        ({"label": "n", "kind": "mask", "geometry": {"slices": {"a": _rle()}}}, "slice indices"),
        (
            {
                "label": "n",
                "kind": "mask",
                "geometry": {"slices": {"1": _rle()}, "key_slices": [1], "interpolate": True},
            },
            "two key_slices",
        ),
        (
            {
                "label": "n",
                "kind": "mask",
                "geometry": {"slices": {"1": _rle()}, "key_slices": [2]},
            },
            "no RLE",
        ),
        (
            {
                "label": "n",
                "kind": "length",
                "geometry": {"slice": 0, "x0": 1, "y0": 1, "x1": 1, "y1": 1},
            },
            "distinct",
        ),
        (
            {"label": "n", "kind": "keypoint", "geometry": {"slice": 0, "x": "nan", "y": 1}},
            "geometry.x",
        ),
        ({"label": "n", "kind": "classification", "geometry": {"value": "1"}, "extra": 1}, "extra"),
    ],
)
def test_shape_errors(payload: dict[str, object], message: str) -> None:
    with pytest.raises(AnnotationSchemaError) as info:
        parse_annotation(payload)
    assert message in str(info.value)
