from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from shared.formats import (
    CocoAnnotation,
    CocoImage,
    Finding,
    FormatInputError,
    polygon_to_mask,
    write_coco,
)

IMAGES = [CocoImage("1.2.3.1", 32, 40, "1.2.3", 0), CocoImage("1.2.3.2", 32, 40, "1.2.3", 1)]


def sample_mask() -> np.ndarray:
    mask = np.zeros((32, 40), bool)
    mask[5:9, 10:20] = True
    mask[20, 30] = True
    return mask


def build() -> dict:
    annotations = [
        CocoAnnotation(Finding("nodule", "box", slice=0, points=[(2, 3), (12, 9)]), "1.2.3.1"),
        CocoAnnotation(
            Finding("nodule", "polygon", slice=1, points=[(0, 0), (10, 0), (0, 10)], reader="b"),
            "1.2.3.2",
        ),
        CocoAnnotation(Finding("organ", "mask", slice=1, mask=sample_mask()), "1.2.3.2"),
        CocoAnnotation(Finding("tip", "keypoint", slice=0, points=[(4.5, 6.5)]), "1.2.3.1"),
        CocoAnnotation(
            Finding("axis", "length", slice=0, points=[(1, 1), (4, 5)], length_mm=3.5), "1.2.3.1"
        ),
        CocoAnnotation(Finding("birads", "classification", value="3"), None, "1.2.3"),
    ]
    return write_coco(IMAGES, annotations, ["nodule", "organ", "tip", "axis", "birads"])


# pycocotools' Cython decoder predates numpy 2's __array__(copy=...) protocol.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_structure_loads_in_pycocotools(tmp_path) -> None:
    document = build()
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(document))
    coco = COCO(str(path))
    assert sorted(coco.getImgIds()) == [1, 2]
    assert coco.loadImgs(1)[0]["file_name"] == "1.2.3.1"
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == [
        "nodule",
        "organ",
        "tip",
        "axis",
        "birads",
    ]
    box = coco.loadAnns(coco.getAnnIds(imgIds=[1], catIds=[1]))[0]
    assert box["bbox"] == [2.0, 3.0, 10.0, 6.0]
    assert box["area"] == 60.0
    mask_ann = coco.loadAnns(coco.getAnnIds(catIds=[2]))[0]
    np.testing.assert_array_equal(coco.annToMask(mask_ann).astype(bool), sample_mask())
    assert mask_ann["bbox"] == [10.0, 5.0, 21.0, 16.0]
    assert mask_ann["area"] == 41.0
    polygon = coco.loadAnns(coco.getAnnIds(imgIds=[2], catIds=[1]))[0]
    assert polygon["attributes"]["reader"] == "b"
    assert polygon["area"] == 50.0


def test_keypoints_and_lengths() -> None:
    document = build()
    by_category = {a["category_id"]: a for a in document["annotations"]}
    assert by_category[3]["keypoints"] == [4.5, 6.5, 2]
    assert by_category[3]["num_keypoints"] == 1
    assert by_category[4]["keypoints"] == [1.0, 1.0, 2, 4.0, 5.0, 2]
    assert by_category[4]["attributes"]["length_mm"] == 3.5
    categories = {c["name"]: c for c in document["categories"]}
    assert categories["tip"]["keypoints"] == ["point"]
    assert categories["axis"]["keypoints"] == ["start", "end"]
    assert document["classifications"] == [
        {
            "id": 1,
            "series_instance_uid": "1.2.3",
            "image_id": None,
            "category_id": 5,
            "value": "3",
            "attributes": {"kind": "classification", "reader": "", "confidence": None},
        }
    ]


def test_polygon_segmentation_matches_our_rasterisation() -> None:
    document = build()
    polygon = next(
        a for a in document["annotations"] if a["category_id"] == 1 and a["image_id"] == 2
    )
    flat = polygon["segmentation"][0]
    points = list(zip(flat[0::2], flat[1::2], strict=True))
    assert polygon_to_mask(points, (32, 40)).sum() == 45  # centres strictly under x + y = 10


@pytest.mark.parametrize(
    "annotation",
    [
        CocoAnnotation(Finding("unknown", "keypoint", slice=0, points=[(1, 1)]), "1.2.3.1"),
        CocoAnnotation(Finding("tip", "keypoint", slice=0, points=[(1, 1)]), "9.9"),
    ],
)
def test_unknown_label_or_image(annotation: CocoAnnotation) -> None:
    with pytest.raises(FormatInputError):
        write_coco(IMAGES, [annotation], ["tip"])
