"""Detection agreement: one-to-one matching of two readers' boxes, polygons or keypoints.

Matching
    Objects are matched one-to-one with the Hungarian algorithm
    (:func:`scipy.optimize.linear_sum_assignment`). A pair is *eligible* when its IoU
    is at least ``iou_threshold`` (boxes, polygons) or its distance in mm is at most
    ``max_distance_mm`` (keypoints). The assignment maximises first the **number**
    of eligible pairs, then their total IoU (or minimises their total distance), so a
    threshold never costs a match that a different pairing could have kept.

F1 between two readers (symmetric, no reference reader)
    ``F1 = 2·matched / (n_a + n_b)``; with no object from either reader it is 1.0
    (the readers agree there is nothing), by convention.

The summable counts of many cases live in :mod:`shared.agreement.detection_stats`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.agreement.errors import AgreementInputError
from shared.agreement.polygon import as_polygon, polygon_iou
from shared.agreement.validation import check_spacing

__all__ = ["MatchResult", "box_iou_matrix", "match_boxes", "match_keypoints", "match_polygons"]

MatchScore = Literal["iou", "distance_mm"]


@dataclass(frozen=True, eq=False)
class MatchResult:
    """One-to-one matching of reader A's objects with reader B's.

    Attributes
    ----------
    pairs
        ``(k, 2)`` indices ``(i_a, i_b)`` of matched objects, sorted by ``i_a``.
    scores
        ``(k,)`` IoU (boxes, polygons) or distance in mm (keypoints) of each pair.
    n_a, n_b
        Objects each reader marked.
    score
        ``"iou"`` or ``"distance_mm"``.
    """

    pairs: NDArray[np.int64]
    scores: NDArray[np.float64]
    n_a: int
    n_b: int
    score: MatchScore

    @property
    def n_matched(self) -> int:
        """Matched pairs."""
        return int(self.pairs.shape[0])

    @property
    def unmatched_a(self) -> NDArray[np.int64]:
        """Indices of reader A's objects left unmatched."""
        return np.setdiff1d(np.arange(self.n_a), self.pairs[:, 0]).astype(np.int64)

    @property
    def unmatched_b(self) -> NDArray[np.int64]:
        """Indices of reader B's objects left unmatched."""
        return np.setdiff1d(np.arange(self.n_b), self.pairs[:, 1]).astype(np.int64)

    @property
    def f1(self) -> float:
        """Symmetric F1 ``2·matched / (n_a + n_b)``; 1.0 when neither reader marked anything."""
        total = self.n_a + self.n_b
        return 1.0 if total == 0 else 2.0 * self.n_matched / total


def _assign(
    eligible: NDArray[np.bool_], quality: NDArray[np.float64], n_a: int, n_b: int, score: MatchScore
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Maximum-cardinality, then maximum-quality, assignment on eligible pairs."""
    if n_a == 0 or n_b == 0 or not eligible.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    big = float(min(n_a, n_b) + 1)  # any extra match outweighs all quality (each ≤ 1)
    weight = np.where(eligible, big + np.clip(quality, 0.0, 1.0), 0.0)
    # Imported here: scipy.optimize costs ~0.3 s CPU to import, and every process that
    # imports this package (a Flower ClientApp or ServerApp, a fresh one per message or
    # round) pays it though few ever match detections.
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(weight, maximize=True)
    keep = eligible[rows, cols]
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64)


def _result(
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    values: NDArray[np.float64],
    n_a: int,
    n_b: int,
    score: MatchScore,
) -> MatchResult:
    order = np.argsort(rows, kind="stable")
    rows, cols = rows[order], cols[order]
    pairs = np.stack([rows, cols], axis=1) if rows.size else np.zeros((0, 2), dtype=np.int64)
    return MatchResult(pairs, values[rows, cols].astype(np.float64), n_a, n_b, score)


def _check_threshold(iou_threshold: float) -> None:
    if not (0.0 < iou_threshold <= 1.0):
        raise AgreementInputError(f"iou_threshold must lie in (0, 1]; got {iou_threshold}.")


def _as_boxes(boxes: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 4) if arr.ndim < 2 else arr.reshape(0, arr.shape[-1])
    if arr.ndim != 2 or arr.shape[1] not in (4, 6):
        raise AgreementInputError(
            f"{name} must be (n, 4) boxes [x0, y0, x1, y1] or (n, 6) boxes "
            f"[x0, y0, z0, x1, y1, z1]; got shape {arr.shape}."
        )
    d = arr.shape[1] // 2
    if not np.all(np.isfinite(arr)) or np.any(arr[:, d:] < arr[:, :d]):
        raise AgreementInputError(
            f"{name} has a box whose max corner is below its min corner, or a NaN; boxes "
            "are [min corner..., max corner...]."
        )
    return arr


def box_iou_matrix(boxes_a: ArrayLike, boxes_b: ArrayLike) -> NDArray[np.float64]:
    """Pairwise IoU of axis-aligned 2D or 3D boxes.

    Parameters
    ----------
    boxes_a, boxes_b
        ``(n, 2d)`` boxes ``[min corner, max corner]`` (continuous coordinates).

    Returns
    -------
    numpy.ndarray
        ``(n_a, n_b)`` IoU values (0 where the union has no volume).
    """
    a, b = _as_boxes(boxes_a, "boxes_a"), _as_boxes(boxes_b, "boxes_b")
    if a.shape[1] != b.shape[1] and a.size and b.size:
        raise AgreementInputError("boxes_a and boxes_b must both be 2D or both 3D.")
    d = a.shape[1] // 2
    lo = np.maximum(a[:, None, :d], b[None, :, :d])
    hi = np.minimum(a[:, None, d:], b[None, :, d:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=2)
    vol_a = np.prod(a[:, d:] - a[:, :d], axis=1)
    vol_b = np.prod(b[:, d:] - b[:, :d], axis=1)
    union = vol_a[:, None] + vol_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(union > 0, inter / union, 0.0), dtype=np.float64)


def match_boxes(boxes_a: ArrayLike, boxes_b: ArrayLike, iou_threshold: float = 0.5) -> MatchResult:
    """Match two readers' boxes one-to-one by IoU (Hungarian algorithm).

    Parameters
    ----------
    boxes_a, boxes_b
        ``(n, 4)`` 2D boxes ``[x0, y0, x1, y1]`` or ``(n, 6)`` 3D boxes.
    iou_threshold
        Minimum IoU for a pair to count as a match.

    Returns
    -------
    MatchResult
        Pairs, their IoU, and the symmetric F1.

    Raises
    ------
    AgreementInputError
        On malformed boxes or a threshold outside (0, 1].
    """
    _check_threshold(iou_threshold)
    ious = box_iou_matrix(boxes_a, boxes_b)
    n_a, n_b = ious.shape
    rows, cols = _assign(ious >= iou_threshold, ious, n_a, n_b, "iou")
    return _result(rows, cols, ious, n_a, n_b, "iou")


def match_polygons(
    polygons_a: Sequence[ArrayLike], polygons_b: Sequence[ArrayLike], iou_threshold: float = 0.5
) -> MatchResult:
    """Match two readers' polygons one-to-one by exact polygon IoU (Hungarian algorithm).

    Parameters
    ----------
    polygons_a, polygons_b
        Sequences of ``(n, 2)`` vertex arrays (simple polygons).
    iou_threshold
        Minimum IoU for a pair to count as a match.

    Returns
    -------
    MatchResult
        Pairs, their IoU, and the symmetric F1.

    Raises
    ------
    AgreementInputError
        On malformed polygons or a threshold outside (0, 1].
    """
    _check_threshold(iou_threshold)
    pa = [as_polygon(p, f"polygons_a[{i}]") for i, p in enumerate(polygons_a)]
    pb = [as_polygon(p, f"polygons_b[{i}]") for i, p in enumerate(polygons_b)]
    ious = np.zeros((len(pa), len(pb)))
    for i, p in enumerate(pa):
        for j, q in enumerate(pb):
            ious[i, j] = polygon_iou(p, q)
    rows, cols = _assign(ious >= iou_threshold, ious, len(pa), len(pb), "iou")
    return _result(rows, cols, ious, len(pa), len(pb), "iou")


def match_keypoints(
    a: ArrayLike,
    b: ArrayLike,
    spacing: Sequence[float] | None,
    max_distance_mm: float,
) -> MatchResult:
    """Match two readers' keypoints one-to-one by distance in mm (Hungarian algorithm).

    Parameters
    ----------
    a, b
        ``(n, d)`` keypoint coordinates in voxel units, axes in array order.
    spacing
        Millimetres per axis (``d`` values); ``None`` means coordinates are already mm.
    max_distance_mm
        Largest distance at which two keypoints count as the same finding.

    Returns
    -------
    MatchResult
        Pairs, their distance in mm, and the symmetric F1.

    Raises
    ------
    AgreementInputError
        On malformed coordinates or a non-positive ``max_distance_mm``.
    SpacingError
        If ``spacing`` does not fit ``d``.
    """
    if not (max_distance_mm > 0 and np.isfinite(max_distance_mm)):
        raise AgreementInputError(f"max_distance_mm must be positive; got {max_distance_mm}.")
    pts_a, pts_b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    dims = {p.shape[1] for p in (pts_a, pts_b) if p.ndim == 2 and p.size}
    if len(dims) > 1 or any(p.size and p.ndim != 2 for p in (pts_a, pts_b)):
        raise AgreementInputError(
            f"a and b must be (n, d) coordinate arrays with the same d; got {pts_a.shape} "
            f"and {pts_b.shape}."
        )
    d = dims.pop() if dims else 2
    pts_a, pts_b = pts_a.reshape(-1, d), pts_b.reshape(-1, d)
    if not (np.all(np.isfinite(pts_a)) and np.all(np.isfinite(pts_b))):
        raise AgreementInputError("keypoint coordinates must be finite (no NaN).")
    scale = check_spacing(spacing, d)
    diff = (pts_a[:, None, :] - pts_b[None, :, :]) * scale
    dist = np.sqrt((diff**2).sum(axis=2))
    n_a, n_b = dist.shape
    rows, cols = _assign(
        dist <= max_distance_mm, 1.0 - dist / max_distance_mm, n_a, n_b, "distance_mm"
    )
    return _result(rows, cols, dist, n_a, n_b, "distance_mm")
