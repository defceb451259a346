"""Annotation payloads a simulated reader makes from a case's ground truth.

:func:`simulate_annotations` reads one :class:`~shared.simulation.CaseTruth`
under one :class:`~shared.schemas.Guideline` version as one
:class:`~shared.simulation.ReaderProfile` would, and returns the annotation
payloads (the contract's JSON) that reader saves: for each label of the
guideline,

=============== ==========================================================
mask            one mask over the lesions the reader saw (RLE per slice)
box, polygon    one per seen lesion, on the lesion's largest slice
keypoint        one per seen lesion, at the drawn lesion's centroid
length          one per seen lesion: its widest row on the largest slice
classification  the true category, passed through the reader's confusion
=============== ==========================================================

Lesions are drawn through the reader's signed-distance habits: a voxel is
drawn when its signed distance to the lesion (mm, positive outside) plus a
smooth noise field is below ``dilation_mm``. Every random choice comes from a
generator keyed by ``(seed, case, label, lesion)``, so the same inputs give the
same payloads, and one habit changing leaves the other labels' draws alone.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from shared.formats import mask_to_polygons, rle_encode
from shared.schemas import Guideline, Label, LabelKind
from shared.simulation.cases import CaseTruth
from shared.simulation.habits import ReaderHabits, ReaderProfile

__all__ = ["draw_lesion", "simulate_annotations", "simulate_readers"]

_NOISE_SMOOTHING_MM = 3.0


def _rng(seed: int, *parts: object) -> np.random.Generator:
    digest = hashlib.sha256("/".join([str(seed), *map(str, parts)]).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def draw_lesion(
    truth: npt.NDArray[np.bool_],
    spacing_mm: tuple[float, float, float],
    habits: ReaderHabits,
    rng: np.random.Generator,
) -> npt.NDArray[np.bool_]:
    """Return ``truth`` as a reader with ``habits`` draws it (same shape, boolean).

    Only a box around the lesion, wide enough for the dilation and the noise,
    is computed; the rest of the volume stays empty.
    """
    drawn = np.zeros(truth.shape, dtype=bool)
    if not truth.any():
        return drawn
    reach = abs(habits.dilation_mm) + 3.0 * habits.boundary_noise_mm
    bounds = []
    for axis, step in enumerate(spacing_mm):
        present = np.flatnonzero(truth.any(axis=tuple(a for a in range(3) if a != axis)))
        margin = math.ceil(reach / step) + 2
        bounds.append(
            slice(
                max(int(present[0]) - margin, 0),
                min(int(present[-1]) + margin + 1, truth.shape[axis]),
            )
        )
    box = tuple(bounds)
    crop = truth[box]
    if habits.dilation_mm == 0.0 and habits.boundary_noise_mm == 0.0:
        drawn[box] = crop
        return drawn
    outside = ndimage.distance_transform_edt(~crop, sampling=spacing_mm)
    inside = ndimage.distance_transform_edt(crop, sampling=spacing_mm)
    signed = np.asarray(outside, dtype=np.float64) - np.asarray(inside, dtype=np.float64)
    if habits.boundary_noise_mm > 0.0:
        field = rng.standard_normal(crop.shape)
        sigma = [_NOISE_SMOOTHING_MM / step for step in spacing_mm]
        field = ndimage.gaussian_filter(field, sigma=sigma, mode="nearest")
        spread = float(field.std())
        if spread > 0.0:
            signed = signed + field / spread * habits.boundary_noise_mm
    drawn[box] = signed < habits.dilation_mm
    return drawn


def _largest_slice(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.argmax(mask.reshape(mask.shape[0], -1).sum(axis=1)))


def _payload(label: Label, profile: ReaderProfile, geometry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "label": label.name,
        "kind": label.kind.value,
        "confidence": profile.confidence,
        "comment": "",
        "cannot_assess": False,
        "geometry": dict(geometry),
    }


def _seen_lesions(
    case: CaseTruth, label: Label, profile: ReaderProfile, habits: ReaderHabits
) -> list[npt.NDArray[np.bool_]]:
    drawn = []
    for value in case.lesion_values(label.name):
        rng = _rng(profile.seed, case.case_id, label.name, value)
        if rng.random() < habits.miss_probability:
            continue
        mask = draw_lesion(case.volume == value, case.spacing_mm, habits, rng)
        if mask.any():
            drawn.append(mask)
    return drawn


def _geometry_objects(label: Label, lesion: npt.NDArray[np.bool_]) -> dict[str, Any]:
    index = _largest_slice(lesion)
    plane = lesion[index]
    rows, cols = np.nonzero(plane)
    r0, r1, c0, c1 = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
    if label.kind is LabelKind.BOX:
        return {"slice": index, "x0": float(c0), "y0": float(r0), "x1": float(c1), "y1": float(r1)}
    if label.kind is LabelKind.KEYPOINT:
        return {"slice": index, "x": float(cols.mean()) + 0.5, "y": float(rows.mean()) + 0.5}
    if label.kind is LabelKind.LENGTH:
        widths = plane.sum(axis=1)
        row = int(np.argmax(widths))
        on_row = np.flatnonzero(plane[row])
        x0, x1 = float(on_row[0]), float(on_row[-1]) + 1.0
        return {"slice": index, "x0": x0, "y0": row + 0.5, "x1": x1, "y1": row + 0.5}
    polygons = mask_to_polygons(plane)
    points = max(polygons, key=len) if polygons else []
    if len(points) < 3:
        points = [(c0, r0), (c1, r0), (c1, r1), (c0, r1)]
    return {"slice": index, "points": [[float(x), float(y)] for x, y in points]}


def simulate_annotations(
    profile: ReaderProfile, case: CaseTruth, guideline: Guideline
) -> list[dict[str, Any]]:
    """The payloads ``profile`` saves on ``case`` under ``guideline``.

    Parameters
    ----------
    profile
        The reader and their habits.
    case
        The ground truth.
    guideline
        The guideline version read under: it names the labels, and its
        version decides which habits a clarified rule has removed.

    Returns
    -------
    list of dict
        Annotation payloads in guideline label order (a label with nothing
        seen, or a classification without a true category, gives none).
    """
    payloads: list[dict[str, Any]] = []
    for label in guideline.labels:
        habits = profile.effective(label.name, guideline.version)
        if label.kind is LabelKind.CLASSIFICATION:
            true = case.categories.get(label.name)
            if true is None:
                continue
            row = habits.confusion.get(true)
            value = true
            if row:
                codes = sorted(row)
                rng = _rng(profile.seed, case.case_id, label.name, "category")
                value = codes[int(rng.choice(len(codes), p=[row[c] for c in codes]))]
            payloads.append(_payload(label, profile, {"value": value}))
            continue
        lesions = _seen_lesions(case, label, profile, habits)
        if not lesions:
            continue
        if label.kind is LabelKind.MASK:
            union = np.logical_or.reduce(lesions)
            slices = {
                str(k): dict(rle_encode(union[k])) for k in range(union.shape[0]) if union[k].any()
            }
            geometry = {"slices": slices, "key_slices": [], "interpolate": False}
            payloads.append(_payload(label, profile, geometry))
            continue
        payloads.extend(_payload(label, profile, _geometry_objects(label, m)) for m in lesions)
    return payloads


def simulate_readers(
    profiles: Iterable[ReaderProfile], case: CaseTruth, guideline: Guideline
) -> dict[str, list[dict[str, Any]]]:
    """Reader name → :func:`simulate_annotations` of each profile."""
    return {p.reader: simulate_annotations(p, case, guideline) for p in profiles}
