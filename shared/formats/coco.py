"""COCO JSON for slice-wise annotations.

Each slice that carries an annotation is one COCO image whose ``file_name`` is
its SOPInstanceUID. Boxes, polygons and masks are COCO object annotations
(``bbox`` ``[x, y, width, height]`` in pixels; polygons as flat ``[x0, y0, x1,
y1, ...]`` lists; masks as COCO uncompressed RLE, which runs in column-major
order); keypoints and lengths use COCO keypoints (``[x, y, 2]`` per point,
category keypoints ``["point"]`` or ``["start", "end"]``). Classifications have
no COCO object form and are listed under the top-level ``"classifications"``
key. Every annotation keeps the reader, kind and confidence under
``"attributes"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shared.formats.errors import FormatInputError
from shared.formats.findings import Finding, FindingKind
from shared.formats.polygon import polygon_area
from shared.formats.rle import rle_encode

__all__ = ["CocoAnnotation", "CocoImage", "write_coco"]

_KEYPOINT_NAMES = {FindingKind.KEYPOINT: ["point"], FindingKind.LENGTH: ["start", "end"]}


@dataclass(frozen=True)
class CocoImage:
    """One slice as a COCO image (``frame``: the 1-based frame of a multi-frame instance)."""

    sop_instance_uid: str
    rows: int
    columns: int
    series_instance_uid: str = ""
    slice_index: int = 0
    frame: int | None = None

    @property
    def key(self) -> str:
        """``file_name``: the SOPInstanceUID, with ``/frames/<n>`` for a frame (as in WADO-RS)."""
        if self.frame is None:
            return self.sop_instance_uid
        return f"{self.sop_instance_uid}/frames/{self.frame}"


@dataclass(frozen=True)
class CocoAnnotation:
    """A finding and where it lies.

    ``image`` is the slice's :attr:`CocoImage.key` (the SOPInstanceUID of a
    single-frame slice), or ``None`` for the whole series.
    """

    finding: Finding
    image: str | None
    series_instance_uid: str = ""


def write_coco(
    images: Sequence[CocoImage],
    annotations: Sequence[CocoAnnotation],
    categories: Sequence[str],
    *,
    description: str = "Harmonia export",
) -> dict[str, Any]:
    """Return a COCO dataset dictionary (ready for ``json.dumps``).

    Parameters
    ----------
    images
        The slices; ids are assigned 1, 2, ... in this order.
    annotations
        Findings with the SOPInstanceUID of their slice.
    categories
        The guideline's label names; ids 1, 2, ... in this order.
    description
        ``info.description``.

    Raises
    ------
    FormatInputError
        When an annotation names an image or a label that was not given.
    """
    image_ids = {image.key: number for number, image in enumerate(images, start=1)}
    category_ids = {name: number for number, name in enumerate(categories, start=1)}
    kinds: dict[str, set[FindingKind]] = {name: set() for name in categories}
    objects: list[dict[str, Any]] = []
    classifications: list[dict[str, Any]] = []
    for item in annotations:
        finding = item.finding
        if finding.label not in category_ids:
            raise FormatInputError(
                f"annotation label {finding.label!r} is not among the categories "
                f"{sorted(category_ids)}; pass every guideline label"
            )
        image_id = None
        if item.image is not None:
            if item.image not in image_ids:
                raise FormatInputError(
                    f"annotation of label {finding.label!r} is on image {item.image}, "
                    "which is not in the image list"
                )
            image_id = image_ids[item.image]
        attributes = {
            "kind": finding.kind.value,
            "reader": finding.reader,
            "confidence": finding.confidence,
        }
        if finding.kind is FindingKind.CLASSIFICATION:
            classifications.append(
                {
                    "id": len(classifications) + 1,
                    "series_instance_uid": item.series_instance_uid,
                    "image_id": image_id,
                    "category_id": category_ids[finding.label],
                    "value": finding.value,
                    "attributes": attributes,
                }
            )
            continue
        if image_id is None:
            raise FormatInputError(
                f"a {finding.kind.value} annotation of label {finding.label!r} needs its slice"
            )
        kinds[finding.label].add(finding.kind)
        entry = {
            "id": len(objects) + 1,
            "image_id": image_id,
            "category_id": category_ids[finding.label],
            "iscrowd": 0,
            **_geometry(finding),
            "attributes": attributes,
        }
        if finding.kind is FindingKind.LENGTH and finding.length_mm is not None:
            entry["attributes"]["length_mm"] = finding.length_mm
        objects.append(entry)
    return {
        "info": {"description": description, "version": "1.0", "contributor": "Harmonia"},
        "licenses": [],
        "images": [
            {
                "id": image_ids[image.key],
                "file_name": image.key,
                "width": image.columns,
                "height": image.rows,
                "series_instance_uid": image.series_instance_uid,
                "sop_instance_uid": image.sop_instance_uid,
                "frame": image.frame,
                "slice_index": image.slice_index,
            }
            for image in images
        ],
        "annotations": objects,
        "categories": [
            _category(name, number, kinds[name]) for name, number in category_ids.items()
        ],
        "classifications": classifications,
    }


def _category(name: str, number: int, kinds: set[FindingKind]) -> dict[str, Any]:
    category: dict[str, Any] = {"id": number, "name": name, "supercategory": "finding"}
    for kind in (FindingKind.LENGTH, FindingKind.KEYPOINT):
        if kind in kinds:
            category["keypoints"] = _KEYPOINT_NAMES[kind]
            category["skeleton"] = [[1, 2]] if kind is FindingKind.LENGTH else []
    return category


def _geometry(finding: Finding) -> dict[str, Any]:
    points = finding.points
    if finding.kind is FindingKind.MASK:
        assert finding.mask is not None  # checked by Finding
        mask = np.asarray(finding.mask) != 0
        rows, cols = np.nonzero(mask)
        if rows.size == 0:
            bbox = [0.0, 0.0, 0.0, 0.0]
        else:
            bbox = [
                float(cols.min()),
                float(rows.min()),
                float(cols.max() - cols.min() + 1),
                float(rows.max() - rows.min() + 1),
            ]
        rle = rle_encode(mask, order="F")
        return {"segmentation": dict(rle), "bbox": bbox, "area": float(rows.size)}
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    if finding.kind is FindingKind.BOX:
        (x0, y0), (x1, y1) = points
        ring = [x0, y0, x1, y0, x1, y1, x0, y1]
        return {"segmentation": [ring], "bbox": bbox, "area": bbox[2] * bbox[3]}
    if finding.kind is FindingKind.POLYGON:
        flat = [value for point in points for value in point]
        return {"segmentation": [flat], "bbox": bbox, "area": polygon_area(points)}
    keypoints = [value for x, y in points for value in (x, y, 2)]
    return {
        "segmentation": [],
        "bbox": bbox,
        "area": 0.0,
        "keypoints": keypoints,
        "num_keypoints": len(points),
    }
