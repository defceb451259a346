"""From the contract's annotation payloads to the inputs of ``shared.formats``.

A payload is ``{"label", "kind", "confidence", "comment", "cannot_assess",
"geometry"}``; annotations that cannot be assessed (no geometry) carry nothing
to draw and are left out of every format.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from node.export.content import SliceRef
from shared.formats import CocoAnnotation, CocoImage, Finding, FindingKind, rle_decode

__all__ = ["coco_annotations", "drawn", "findings", "mask_volumes"]

_POINT_KINDS = {"box", "polygon", "keypoint", "length", "classification"}


def drawn(payloads: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The payloads that carry a geometry (not ``cannot_assess``)."""
    return [
        p for p in payloads if p.get("geometry") and not p.get("cannot_assess") and p.get("label")
    ]


def mask_volumes(
    payloads: Iterable[Mapping[str, Any]], slices: Sequence[SliceRef]
) -> dict[str, npt.NDArray[np.bool_]]:
    """Label → boolean volume ``(slices, rows, columns)``; several masks of a label are merged."""
    if not slices:
        return {}
    shape = (len(slices), slices[0].rows, slices[0].columns)
    volumes: dict[str, npt.NDArray[np.bool_]] = {}
    for payload in drawn(payloads):
        if payload.get("kind") != "mask":
            continue
        volume = volumes.setdefault(str(payload["label"]), np.zeros(shape, dtype=np.bool_))
        for key, rle in payload["geometry"].get("slices", {}).items():
            index = int(key)
            if 0 <= index < shape[0]:
                mask = rle_decode(rle)
                if mask.shape == shape[1:]:
                    volume[index] |= mask
    return {label: volume for label, volume in volumes.items() if volume.any()}


def findings(payloads: Iterable[Mapping[str, Any]], who: str) -> list[Finding]:
    """Boxes, polygons, keypoints, lengths and classifications as findings (no masks)."""
    result = []
    for payload in drawn(payloads):
        kind = payload.get("kind")
        if kind in _POINT_KINDS:
            result.append(_finding(payload, who))
    return result


def coco_annotations(
    payloads: Iterable[Mapping[str, Any]],
    who: str,
    slices: Sequence[SliceRef],
    series_instance_uid: str,
) -> list[CocoAnnotation]:
    """Every drawn annotation for COCO: masks split per slice, the rest one each."""
    by_index = {s.index: s for s in slices}
    result: list[CocoAnnotation] = []
    for payload in drawn(payloads):
        kind = payload.get("kind")
        if kind == "mask":
            for key, rle in sorted(
                payload["geometry"].get("slices", {}).items(), key=lambda item: int(item[0])
            ):
                image = by_index.get(int(key))
                mask = rle_decode(rle)
                if image is None or not mask.any():
                    continue
                finding = Finding(
                    label=str(payload["label"]),
                    kind=FindingKind.MASK,
                    slice=image.index,
                    mask=mask,
                    reader=who,
                    confidence=payload.get("confidence"),
                )
                result.append(CocoAnnotation(finding, _key(image), series_instance_uid))
        elif kind in _POINT_KINDS:
            finding = _finding(payload, who)
            image_ref = by_index.get(finding.slice) if finding.slice is not None else None
            result.append(
                CocoAnnotation(
                    finding,
                    _key(image_ref) if image_ref is not None else None,
                    series_instance_uid,
                )
            )
    return result


def _key(image: SliceRef) -> str:
    """The COCO image key of a slice."""
    return CocoImage(image.sop_instance_uid, image.rows, image.columns, frame=image.frame).key


def _finding(payload: Mapping[str, Any], who: str) -> Finding:
    geometry = payload["geometry"]
    kind = FindingKind(str(payload["kind"]))
    common: dict[str, Any] = {
        "label": str(payload["label"]),
        "kind": kind,
        "reader": who,
        "confidence": payload.get("confidence"),
    }
    slice_index = geometry.get("slice")
    if slice_index is not None:
        common["slice"] = int(slice_index)
    if kind is FindingKind.CLASSIFICATION:
        return Finding(value=str(geometry["value"]), **common)
    if kind in (FindingKind.BOX, FindingKind.LENGTH):
        points = ((geometry["x0"], geometry["y0"]), (geometry["x1"], geometry["y1"]))
        length = geometry.get("length_mm") if kind is FindingKind.LENGTH else None
        return Finding(points=points, length_mm=length, **common)
    if kind is FindingKind.KEYPOINT:
        return Finding(points=((geometry["x"], geometry["y"]),), **common)
    return Finding(points=tuple(tuple(p) for p in geometry["points"]), **common)
