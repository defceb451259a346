"""Proposals in the annotation payload's forms, and the size of a reader's edit.

:func:`proposals_from` turns a :class:`~node.assist.predictor.ModelOutput` into
annotation payloads: each 3D connected component of a mask label's
thresholded probabilities becomes one mask proposal (RLE per slice, every
painted slice a key slice), optionally with a box proposal on the
component's largest slice; a classification label becomes its most probable
category. :func:`edit_overlap` measures how far a reader's final annotation
moved from the proposal (Dice and IoU).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from node.annotate.records import TaskSlice
from node.assist.predictor import ModelOutput
from shared.formats.polygon import polygon_to_mask
from shared.formats.rle import rle_decode, rle_encode
from shared.schemas import Guideline, LabelKind

__all__ = ["DraftPayload", "ProposalOptions", "edit_overlap", "proposals_from"]


@dataclass(frozen=True)
class ProposalOptions:
    """How probabilities become proposals.

    ``threshold``: the probability a voxel needs to be in a mask proposal.
    ``min_voxels``: smaller components are dropped as noise. ``max_per_label``:
    at most this many components per label (the largest). ``boxes_from``: mask
    label → box label whose proposals are the components' boxes.
    """

    threshold: float = 0.5
    min_voxels: int = 4
    max_per_label: int = 20
    boxes_from: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must lie strictly between 0 and 1, got {self.threshold}")
        if self.min_voxels < 1 or self.max_per_label < 1:
            raise ValueError("min_voxels and max_per_label must be at least 1")


@dataclass(frozen=True)
class DraftPayload:
    """One proposal before it is stored: the annotation payload, its probability."""

    label: str
    kind: str
    geometry: dict[str, Any]
    probability: float
    probabilities: dict[str, float] | None = None

    def payload(self) -> dict[str, Any]:
        """The stored form (the annotation payload, plus class probabilities)."""
        data: dict[str, Any] = {"label": self.label, "kind": self.kind, "geometry": self.geometry}
        if self.probabilities is not None:
            data["probabilities"] = self.probabilities
        return data


def _components(
    probability: npt.NDArray[np.floating[Any]], options: ProposalOptions
) -> list[npt.NDArray[np.bool_]]:
    binary = probability >= options.threshold
    labelled, count = ndimage.label(binary)
    if not count:
        return []
    sizes = np.bincount(labelled.ravel())[1:]
    order = [
        int(i) + 1 for i in np.argsort(-sizes, kind="stable") if sizes[i] >= options.min_voxels
    ]
    return [labelled == index for index in order[: options.max_per_label]]


def _mask_geometry(component: npt.NDArray[np.bool_]) -> dict[str, Any]:
    painted = [int(z) for z in np.flatnonzero(component.any(axis=(1, 2)))]
    return {
        "slices": {str(z): dict(rle_encode(component[z])) for z in painted},
        "key_slices": painted,
        "interpolate": False,
    }


def _box_geometry(component: npt.NDArray[np.bool_]) -> dict[str, Any]:
    areas = component.sum(axis=(1, 2))
    z = int(np.argmax(areas))
    rows = np.flatnonzero(component[z].any(axis=1))
    cols = np.flatnonzero(component[z].any(axis=0))
    return {
        "slice": z,
        "x0": float(cols[0]),
        "y0": float(rows[0]),
        "x1": float(cols[-1] + 1),
        "y1": float(rows[-1] + 1),
    }


def proposals_from(
    prediction: ModelOutput, guideline: Guideline, options: ProposalOptions | None = None
) -> list[DraftPayload]:
    """The proposals a prediction makes under ``guideline`` (labels it lacks are skipped)."""
    options = options or ProposalOptions()
    boxes_from = dict(options.boxes_from or {})
    drafts: list[DraftPayload] = []
    for name, probability in prediction.masks.items():
        label = guideline.label(name)
        if label is None or label.kind is not LabelKind.MASK:
            continue
        p = np.asarray(probability)
        box_label = guideline.label(boxes_from.get(name, ""))
        for component in _components(p, options):
            mean = float(p[component].mean())
            drafts.append(DraftPayload(name, "mask", _mask_geometry(component), mean))
            if box_label is not None and box_label.kind is LabelKind.BOX:
                drafts.append(DraftPayload(box_label.name, "box", _box_geometry(component), mean))
    for name, probabilities in prediction.classes.items():
        label = guideline.label(name)
        if label is None or label.kind is not LabelKind.CLASSIFICATION or not probabilities:
            continue
        known = {c: float(v) for c, v in probabilities.items() if label.category(c) is not None}
        if not known:
            continue
        best = max(label.category_codes, key=lambda c: known.get(c, -1.0))
        drafts.append(
            DraftPayload(name, "classification", {"value": best}, known[best], probabilities=known)
        )
    return drafts


def _mask_counts(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[int, int, int]:
    slices_a = a.get("slices", {}) or {}
    slices_b = b.get("slices", {}) or {}
    inter = size_a = size_b = 0
    for key in set(slices_a) | set(slices_b):
        ma = rle_decode(slices_a[key]) if key in slices_a else None
        mb = rle_decode(slices_b[key]) if key in slices_b else None
        size_a += int(ma.sum()) if ma is not None else 0
        size_b += int(mb.sum()) if mb is not None else 0
        if ma is not None and mb is not None:
            inter += int(np.logical_and(ma, mb).sum())
    return inter, size_a, size_b


def _box_counts(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[float, float, float]:
    def area(g: Mapping[str, Any]) -> float:
        return abs(float(g["x1"]) - float(g["x0"])) * abs(float(g["y1"]) - float(g["y0"]))

    if int(a["slice"]) != int(b["slice"]):
        return 0.0, area(a), area(b)
    w = min(max(a["x0"], a["x1"]), max(b["x0"], b["x1"])) - max(
        min(a["x0"], a["x1"]), min(b["x0"], b["x1"])
    )
    h = min(max(a["y0"], a["y1"]), max(b["y0"], b["y1"])) - max(
        min(a["y0"], a["y1"]), min(b["y0"], b["y1"])
    )
    return max(0.0, float(w)) * max(0.0, float(h)), area(a), area(b)


def _polygon_counts(
    a: Mapping[str, Any], b: Mapping[str, Any], slices: Sequence[TaskSlice]
) -> tuple[int, int, int]:
    shape_a = (slices[int(a["slice"])].rows, slices[int(a["slice"])].columns)
    shape_b = (slices[int(b["slice"])].rows, slices[int(b["slice"])].columns)
    ma = polygon_to_mask(a["points"], shape_a)
    mb = polygon_to_mask(b["points"], shape_b)
    inter = int(np.logical_and(ma, mb).sum()) if int(a["slice"]) == int(b["slice"]) else 0
    return inter, int(ma.sum()), int(mb.sum())


def edit_overlap(
    kind: str,
    proposed: Mapping[str, Any],
    final: Mapping[str, Any],
    slices: Sequence[TaskSlice] = (),
) -> tuple[float | None, float | None]:
    """Dice and IoU between a proposal's geometry and the reader's final geometry.

    Masks compare voxel sets over every slice; boxes and polygons their areas on
    their slice (0 on different slices); a classification is 1 when the reader
    kept the proposed category, else 0. Two empty geometries agree (1). Kinds a
    model does not propose (keypoints, lengths) give ``(None, None)``.
    """
    if kind == "classification":
        same = 1.0 if proposed.get("value") == final.get("value") else 0.0
        return same, same
    counts: tuple[float, float, float]
    if kind == "mask":
        counts = _mask_counts(proposed, final)
    elif kind == "box":
        counts = _box_counts(proposed, final)
    elif kind == "polygon":
        counts = _polygon_counts(proposed, final, slices)
    else:
        return None, None
    inter, size_a, size_b = counts
    if size_a + size_b == 0:
        return 1.0, 1.0
    union = size_a + size_b - inter
    return 2.0 * inter / (size_a + size_b), (inter / union if union else 1.0)
