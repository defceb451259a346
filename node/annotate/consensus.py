"""Consensus of a task's readers per label, when they agree well enough.

=============== ================== ===============================================
kind            method             how
=============== ================== ===============================================
classification  ``majority``       :func:`shared.consensus.majority_vote` over the
                                   category indices (ties to the lower category,
                                   flagged ``tied``)
mask            ``staple``         :func:`shared.consensus.staple` over the readers'
                                   3D masks, thresholded at 0.5; each reader's
                                   sensitivity and specificity kept
box, polygon,   ``cluster-majority`` objects clustered across readers by the label's
keypoint,                          match rule (IoU or distance); clusters marked by
length                             a strict majority of readers become one object:
                                   mean corners / points / end points, the medoid
                                   polygon
any, one reader ``single-reader``  that reader's annotations
=============== ================== ===============================================

Each label's consensus is a payload ``{"annotations": [...], "detail": {...}}``
whose annotations have the shape of a reader's (label, kind, geometry...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from node.annotate.agreement import mask_slices, reader_mask, split_mask
from node.annotate.records import AnnotationRecord, TaskSlice
from shared.agreement import match_boxes, match_keypoints, match_polygons
from shared.agreement.polygon import polygon_iou
from shared.consensus import majority_vote, staple
from shared.formats.rle import rle_encode
from shared.schemas import Label, LabelKind

__all__ = ["ConsensusResult", "build_consensus"]

ConsensusResult = tuple[str, dict[str, Any]]


def _marked(annotations: Sequence[AnnotationRecord]) -> list[AnnotationRecord]:
    return [
        a for a in annotations if a.payload.get("geometry") and not a.payload.get("cannot_assess")
    ]


def _mean_confidence(annotations: Sequence[AnnotationRecord]) -> float | None:
    """Mean confidence of the annotations that carry one (the consensus's confidence)."""
    values = [
        a.payload["confidence"] for a in annotations if a.payload.get("confidence") is not None
    ]
    return round(float(np.mean(values)), 3) if values else None


def _annotation(
    label: Label,
    geometry: dict[str, Any] | None,
    confidence: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "label": label.name,
        "kind": label.kind.value,
        "confidence": confidence,
        "comment": "",
        "cannot_assess": geometry is None,
        "geometry": geometry or {},
        **extra,
    }


def _classification(label: Label, per_reader: dict[str, list[AnnotationRecord]]) -> ConsensusResult:
    codes = label.category_codes
    votes = []
    for marked in per_reader.values():
        values = [a.payload["geometry"]["value"] for a in _marked(marked)]
        votes.append(codes.index(values[-1]) if values else -1)
    if all(v == -1 for v in votes):
        return "majority", {"annotations": [_annotation(label, None)], "detail": {"votes": votes}}
    result = majority_vote(np.asarray(votes, dtype=np.int64)[:, None], n_labels=len(codes))
    winner = int(result.consensus[0])
    detail = {
        "support": float(result.support[0]),
        "tied": bool(result.tied[0]),
        "votes": {
            r: (codes[v] if v >= 0 else None) for r, v in zip(per_reader, votes, strict=True)
        },
    }
    voters = [
        a
        for marked in per_reader.values()
        for a in _marked(marked)[-1:]
        if a.payload["geometry"]["value"] == codes[winner]
    ]
    return "majority", {
        "annotations": [_annotation(label, {"value": codes[winner]}, _mean_confidence(voters))],
        "detail": detail,
    }


def _mask(
    label: Label, per_reader: dict[str, list[AnnotationRecord]], slices: Sequence[TaskSlice]
) -> ConsensusResult:
    keys = mask_slices(per_reader)
    if not keys:
        return "staple", {"annotations": [], "detail": {}}
    volumes = np.stack([reader_mask(a, slices, keys) for a in per_reader.values()])
    result = staple(volumes)
    planes = split_mask(result.consensus(0.5), slices, keys)
    encoded = {str(k): dict(rle_encode(plane)) for k, plane in planes.items() if plane.any()}
    readers = list(per_reader)
    detail = {
        "prior": result.prior,
        "converged": result.converged,
        "readers": {
            r: {
                "sensitivity": _finite(result.sensitivity[i]),
                "specificity": _finite(result.specificity[i]),
            }
            for i, r in enumerate(readers)
        },
    }
    annotations = (
        [
            _annotation(
                label,
                {"slices": encoded, "key_slices": [], "interpolate": False},
                _mean_confidence([a for m in per_reader.values() for a in _marked(m)]),
            )
        ]
        if encoded
        else []
    )
    return "staple", {"annotations": annotations, "detail": detail}


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _matches(
    label: Label, a: dict[str, Any], b: dict[str, Any], spacing: tuple[float, float, float]
) -> bool:
    if a.get("slice") != b.get("slice") and label.kind is not LabelKind.KEYPOINT:
        return False
    if label.kind is LabelKind.BOX:
        box = [[a["x0"], a["y0"], a["x1"], a["y1"]]]
        other = [[b["x0"], b["y0"], b["x1"], b["y1"]]]
        return match_boxes(box, other, label.match_iou).n_matched == 1
    if label.kind is LabelKind.POLYGON:
        return match_polygons([a["points"]], [b["points"]], label.match_iou).n_matched == 1
    point_a = _point(label, a)
    point_b = _point(label, b)
    return (
        match_keypoints([point_a], [point_b], list(spacing), label.match_distance_mm).n_matched == 1
    )


def _point(label: Label, g: dict[str, Any]) -> list[float]:
    if label.kind is LabelKind.KEYPOINT:
        return [float(g["slice"]), g["y"], g["x"]]
    return [float(g["slice"]), (g["y0"] + g["y1"]) / 2.0, (g["x0"] + g["x1"]) / 2.0]


def _merge(
    label: Label, members: list[dict[str, Any]], spacing_mm: tuple[float, float]
) -> dict[str, Any]:
    slice_index = int(np.median([m["slice"] for m in members]))
    if label.kind is LabelKind.BOX:
        return {
            "slice": slice_index,
            **{k: float(np.mean([m[k] for m in members])) for k in ("x0", "y0", "x1", "y1")},
        }
    if label.kind is LabelKind.KEYPOINT:
        return {
            "slice": slice_index,
            "x": float(np.mean([m["x"] for m in members])),
            "y": float(np.mean([m["y"] for m in members])),
        }
    if label.kind is LabelKind.POLYGON:
        scores = [sum(polygon_iou(m["points"], o["points"]) for o in members) for m in members]
        return {
            "slice": members[int(np.argmax(scores))]["slice"],
            "points": members[int(np.argmax(scores))]["points"],
        }
    first = members[0]
    aligned = []
    for m in members:
        forward = abs(m["x0"] - first["x0"]) + abs(m["y0"] - first["y0"])
        backward = abs(m["x1"] - first["x0"]) + abs(m["y1"] - first["y0"])
        aligned.append(
            m
            if forward <= backward
            else {**m, "x0": m["x1"], "y0": m["y1"], "x1": m["x0"], "y1": m["y0"]}
        )
    merged = {
        "slice": slice_index,
        **{k: float(np.mean([m[k] for m in aligned])) for k in ("x0", "y0", "x1", "y1")},
    }
    row_mm, column_mm = spacing_mm
    merged["length_mm"] = float(
        np.hypot((merged["x1"] - merged["x0"]) * column_mm, (merged["y1"] - merged["y0"]) * row_mm)
    )
    return merged


def _objects(
    label: Label, per_reader: dict[str, list[AnnotationRecord]], slices: Sequence[TaskSlice]
) -> ConsensusResult:
    between = 1.0
    if len(slices) > 1 and slices[0].position and slices[1].position:
        between = float(np.linalg.norm(np.subtract(slices[1].position, slices[0].position))) or 1.0
    in_plane = slices[0].pixel_spacing if slices and slices[0].pixel_spacing else (1.0, 1.0)
    spacing = (between, in_plane[0], in_plane[1])
    clusters: list[dict[str, Any]] = []
    for reader, marked in per_reader.items():
        for record in _marked(marked):
            geometry = record.payload["geometry"]
            home = next(
                (
                    c
                    for c in clusters
                    if reader not in c["readers"] and _matches(label, c["seed"], geometry, spacing)
                ),
                None,
            )
            if home is None:
                clusters.append({"seed": geometry, "records": [record], "readers": [reader]})
            else:
                home["records"].append(record)
                home["readers"].append(reader)
    needed = len(per_reader) // 2 + 1
    kept = [c for c in clusters if len(c["readers"]) >= needed]
    annotations = [
        _annotation(
            label,
            _merge(label, [r.payload["geometry"] for r in c["records"]], in_plane),
            _mean_confidence(c["records"]),
            readers=c["readers"],
        )
        for c in kept
    ]
    detail = {"clusters": len(clusters), "kept": len(kept), "needed_readers": needed}
    return "cluster-majority", {"annotations": annotations, "detail": detail}


def build_consensus(
    label: Label,
    readers: Sequence[str],
    annotations: Sequence[AnnotationRecord],
    slices: Sequence[TaskSlice],
) -> ConsensusResult:
    """The consensus method and payload of one label among the task's readers."""
    per_reader = {
        r: [a for a in annotations if a.reader == r and a.label == label.name and not a.deleted]
        for r in readers
    }
    if len(readers) == 1:
        only = per_reader[readers[0]]
        return "single-reader", {
            "annotations": [{k: v for k, v in a.payload.items() if k != "readers"} for a in only],
            "detail": {"reader": readers[0]},
        }
    if label.kind is LabelKind.CLASSIFICATION:
        return _classification(label, per_reader)
    if label.kind is LabelKind.MASK:
        return _mask(label, per_reader, slices)
    return _objects(label, per_reader, slices)
