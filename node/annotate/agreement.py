"""Agreement between a task's readers, per label, with the shared agreement engine.

For every label of the guideline and every pair of readers, one figure, by kind:

============== ============ =====================================================
kind           metric       how
============== ============ =====================================================
classification agreement    1 when the pair chose the same category, else 0; on an
                            ordinal scale, linearly weighted (1 − |i − j| / (n − 1))
mask           dice         :func:`shared.agreement.dice` of the 3D masks
box            f1           :func:`shared.agreement.match_boxes` (3D boxes, one slice
                            deep) at the label's ``match_iou``
polygon        f1           :func:`shared.agreement.match_polygons` per slice
keypoint       f1           :func:`shared.agreement.match_keypoints` in mm
length         f1           end-point midpoints matched in mm, plus the mean
                            absolute length difference in ``detail``
============== ============ =====================================================

The task-level value of a label is the mean over reader pairs (metric
``mean_<metric>``); a label whose value is below its ``adjudication_threshold``
sends the task to adjudication. Cohen's and Fleiss' kappa are not defined on a
single task; the quality dashboard computes them across tasks from the stored
per-pair classification figures (``detail`` keeps both readers' categories).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from node.annotate.records import AgreementFigure, AnnotationRecord, TaskSlice
from shared.agreement import dice, match_boxes, match_keypoints, match_polygons
from shared.formats.rle import rle_decode
from shared.schemas import Guideline, Label, LabelKind, Scale

__all__ = ["LabelAgreement", "mask_slices", "measure_agreement", "reader_mask", "split_mask"]


@dataclass(frozen=True)
class LabelAgreement:
    """A label's task-level agreement and whether it needs adjudication."""

    label: str
    metric: str
    value: float
    threshold: float

    @property
    def below_threshold(self) -> bool:
        """Whether the task goes to adjudication because of this label."""
        return self.value < self.threshold


def _live(annotations: Sequence[AnnotationRecord], label: str) -> list[AnnotationRecord]:
    return [a for a in annotations if a.label == label and not a.deleted]


def _drawn(annotations: Sequence[AnnotationRecord]) -> list[dict[str, Any]]:
    return [
        a.payload["geometry"]
        for a in annotations
        if a.payload.get("geometry") and not a.payload.get("cannot_assess")
    ]


def _classification_value(annotations: Sequence[AnnotationRecord]) -> str | None:
    values = [g["value"] for g in _drawn(annotations)]
    return values[-1] if values else None


def _classification_pair(label: Label, a: str | None, b: str | None) -> tuple[float, str]:
    if a is None or b is None:
        return (1.0 if a == b else 0.0), "agreement"
    if label.scale is Scale.ORDINAL:
        codes = label.category_codes
        span = max(len(codes) - 1, 1)
        return 1.0 - abs(codes.index(a) - codes.index(b)) / span, "weighted_agreement"
    return (1.0 if a == b else 0.0), "agreement"


def reader_mask(
    annotations: Sequence[AnnotationRecord], slices: Sequence[TaskSlice], keys: Sequence[int]
) -> npt.NDArray[np.bool_]:
    """One reader's masks of a label over the slices ``keys``, flattened and concatenated.

    Each slice contributes its own ``rows × columns`` pixels in row-major order,
    so slices of different sizes stack; :func:`split_mask` undoes it.
    """
    offsets = _offsets(slices, keys)
    flat = np.zeros(offsets[-1] if offsets else 0, dtype=bool)
    where = {k: i for i, k in enumerate(keys)}
    for geometry in _drawn(annotations):
        for key, rle in geometry.get("slices", {}).items():
            i = where.get(int(key))
            if i is not None:
                flat[offsets[i] : offsets[i + 1]] |= rle_decode(rle).ravel()
    return flat


def _offsets(slices: Sequence[TaskSlice], keys: Sequence[int]) -> list[int]:
    offsets = [0]
    for k in keys:
        offsets.append(offsets[-1] + slices[k].rows * slices[k].columns)
    return offsets


def split_mask(
    flat: npt.NDArray[np.bool_], slices: Sequence[TaskSlice], keys: Sequence[int]
) -> dict[int, npt.NDArray[np.bool_]]:
    """Undo :func:`reader_mask`: slice index → 2D mask."""
    offsets = _offsets(slices, keys)
    return {
        k: flat[offsets[i] : offsets[i + 1]].reshape(slices[k].rows, slices[k].columns)
        for i, k in enumerate(keys)
    }


def mask_slices(per_reader: Mapping[str, Sequence[AnnotationRecord]]) -> list[int]:
    """Slice indices any reader painted, ascending."""
    keys: set[int] = set()
    for marked in per_reader.values():
        for geometry in _drawn(marked):
            keys.update(int(k) for k in geometry.get("slices", {}))
    return sorted(keys)


def _box(geometry: Mapping[str, Any]) -> list[float]:
    z = float(geometry["slice"])
    return [geometry["x0"], geometry["y0"], z, geometry["x1"], geometry["y1"], z + 1.0]


def _spacing(slices: Sequence[TaskSlice]) -> tuple[float, float, float]:
    first = slices[0] if slices else None
    row, column = first.pixel_spacing if first and first.pixel_spacing else (1.0, 1.0)
    between = first.slice_thickness if first and first.slice_thickness else 1.0
    if len(slices) > 1 and slices[0].position and slices[1].position:
        between = float(np.linalg.norm(np.subtract(slices[1].position, slices[0].position)))
    return (between or 1.0, row, column)


def _point_of(kind: LabelKind, geometry: Mapping[str, Any]) -> list[float]:
    if kind is LabelKind.KEYPOINT:
        return [float(geometry["slice"]), geometry["y"], geometry["x"]]
    return [
        float(geometry["slice"]),
        (geometry["y0"] + geometry["y1"]) / 2.0,
        (geometry["x0"] + geometry["x1"]) / 2.0,
    ]


def _f1(n_matched: int, n_a: int, n_b: int) -> float:
    return 1.0 if n_a + n_b == 0 else 2.0 * n_matched / (n_a + n_b)


def _pair_objects(
    label: Label,
    a: list[dict[str, Any]],
    b: list[dict[str, Any]],
    slices: Sequence[TaskSlice],
) -> tuple[float, dict[str, Any]]:
    if not a or not b:
        return _f1(0, len(a), len(b)), {"matched": 0, "n_a": len(a), "n_b": len(b)}
    if label.kind is LabelKind.BOX:
        result = match_boxes([_box(g) for g in a], [_box(g) for g in b], label.match_iou)
        return result.f1, {
            "matched": result.n_matched,
            "n_a": result.n_a,
            "n_b": result.n_b,
            "mean_iou": float(result.scores.mean()) if result.n_matched else None,
        }
    if label.kind is LabelKind.POLYGON:
        matched = 0
        ious: list[float] = []
        for z in sorted({g["slice"] for g in a} | {g["slice"] for g in b}):
            pa = [g["points"] for g in a if g["slice"] == z]
            pb = [g["points"] for g in b if g["slice"] == z]
            if pa and pb:
                result = match_polygons(pa, pb, label.match_iou)
                matched += result.n_matched
                ious.extend(float(s) for s in result.scores)
        return _f1(matched, len(a), len(b)), {
            "matched": matched,
            "n_a": len(a),
            "n_b": len(b),
            "mean_iou": float(np.mean(ious)) if ious else None,
        }
    result = match_keypoints(
        [_point_of(label.kind, g) for g in a],
        [_point_of(label.kind, g) for g in b],
        _spacing(slices),
        label.match_distance_mm,
    )
    detail: dict[str, Any] = {
        "matched": result.n_matched,
        "n_a": result.n_a,
        "n_b": result.n_b,
        "mean_distance_mm": float(result.scores.mean()) if result.n_matched else None,
    }
    if label.kind is LabelKind.LENGTH and result.n_matched:
        differences = [
            abs((a[i].get("length_mm") or 0.0) - (b[j].get("length_mm") or 0.0))
            for i, j in result.pairs.tolist()
        ]
        detail["mean_length_difference_mm"] = float(np.mean(differences))
    return result.f1, detail


def measure_agreement(
    guideline: Guideline,
    readers: Sequence[str],
    annotations: Sequence[AnnotationRecord],
    slices: Sequence[TaskSlice],
) -> tuple[list[AgreementFigure], list[LabelAgreement]]:
    """Per-pair figures and per-label task-level agreement for a completed task.

    With a single reader there is nothing to compare: no figures, and every
    label counts as agreed.
    """
    figures: list[AgreementFigure] = []
    summary: list[LabelAgreement] = []
    by_reader = {r: [a for a in annotations if a.reader == r] for r in readers}
    for label in guideline.labels:
        per_reader = {r: _live(by_reader[r], label.name) for r in readers}
        pair_values: list[float] = []
        metric = "f1"
        keys = mask_slices(per_reader) if label.kind is LabelKind.MASK else []
        volumes = (
            {r: reader_mask(per_reader[r], slices, keys) for r in readers}
            if label.kind is LabelKind.MASK
            else {}
        )
        for ra, rb in itertools.combinations(readers, 2):
            detail: dict[str, Any] = {}
            if label.kind is LabelKind.CLASSIFICATION:
                va = _classification_value(per_reader[ra])
                vb = _classification_value(per_reader[rb])
                value, metric = _classification_pair(label, va, vb)
                detail = {"a": va, "b": vb}
            elif label.kind is LabelKind.MASK:
                metric = "dice"
                va_mask, vb_mask = volumes[ra], volumes[rb]
                value = dice(va_mask, vb_mask) if keys else 1.0
                detail = {"voxels_a": int(va_mask.sum()), "voxels_b": int(vb_mask.sum())}
            else:
                value, detail = _pair_objects(
                    label, _drawn(per_reader[ra]), _drawn(per_reader[rb]), slices
                )
            pair_values.append(value)
            figures.append(
                AgreementFigure(label.name, label.kind.value, metric, value, (ra, rb), detail)
            )
        if pair_values:
            mean = float(np.mean(pair_values))
            figures.append(
                AgreementFigure(
                    label.name, label.kind.value, f"mean_{metric}", mean, tuple(readers), {}
                )
            )
            summary.append(LabelAgreement(label.name, metric, mean, label.adjudication_threshold))
    return figures, summary
