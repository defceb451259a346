"""Polygons in image pixel coordinates: area, simplicity, rasterisation and tracing.

Coordinates follow the annotation contract: ``x`` is the column, ``y`` the row,
the origin is the top-left corner of the top-left pixel, so pixel ``(r, c)``
covers ``[c, c + 1) x [r, r + 1)`` and has its centre at ``(c + 0.5, r + 0.5)``.
A polygon is a sequence of ``(x, y)`` vertices, implicitly closed.

Rasterisation uses the pixel-centre rule: a pixel belongs to the polygon when its
centre lies inside (even-odd rule; a centre exactly on a left or top edge is in,
on a right or bottom edge is out), so an axis-aligned rectangle with integer
corners covers exactly its area in pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from shared.formats.errors import MaskShapeError, PolygonError

__all__ = [
    "Point",
    "PointsLike",
    "mask_to_polygons",
    "polygon_area",
    "polygon_is_simple",
    "polygon_to_mask",
    "validate_polygon",
]

Point = tuple[float, float]
"""One vertex ``(x, y)``: x = column, y = row, in pixels."""
PointsLike = Sequence[Sequence[float]] | npt.NDArray[np.float64]
"""Vertices as ``(x, y)`` pairs or an ``(n, 2)`` array."""


def validate_polygon(points: PointsLike) -> npt.NDArray[np.float64]:
    """Return the vertices as an ``(n, 2)`` float array, checking the basic rules.

    Raises
    ------
    PolygonError
        When there are fewer than 3 vertices, a vertex is not an ``(x, y)`` pair
        or a coordinate is not finite. Simplicity is checked separately by
        :func:`polygon_is_simple`.
    """
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PolygonError(f"polygon vertices must be [x, y] number pairs: {exc}") from exc
    if array.ndim != 2 or array.shape[1] != 2:
        raise PolygonError(
            f"polygon vertices must be [x, y] pairs; got an array of shape {array.shape}"
        )
    if len(array) >= 2 and np.array_equal(array[0], array[-1]):
        array = array[:-1]  # an explicitly closed ring: drop the repeated vertex
    if len(array) < 3:
        raise PolygonError(f"a polygon needs at least 3 distinct vertices; got {len(array)}")
    if not np.isfinite(array).all():
        raise PolygonError("polygon coordinates must be finite numbers (no NaN or infinity)")
    return array


def polygon_area(points: PointsLike) -> float:
    """Return the enclosed area in square pixels (shoelace formula, always >= 0)."""
    p = validate_polygon(points)
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def polygon_is_simple(points: PointsLike) -> bool:
    """Return whether the polygon's boundary never touches or crosses itself.

    Non-adjacent edges must not meet at all; adjacent edges must meet only at
    their shared vertex (no zero-length edges, no spike that doubles back).
    O(n²) comparisons, vectorised per edge: fine for hand-drawn contours.

    Raises
    ------
    PolygonError
        When the points are not a polygon at all (see :func:`validate_polygon`).
    """
    p = validate_polygon(points)
    n = len(p)
    a = p
    b = np.roll(p, -1, axis=0)
    if (np.abs(b - a).sum(axis=1) == 0).any():
        return False  # a repeated vertex: zero-length edge
    # Adjacent edges (a_i -> b_i = a_{i+1} -> b_{i+1}) must not fold back onto each other.
    nxt = np.roll(b, -1, axis=0)
    turn = _cross(a, b, nxt)
    back = ((a - b) * (nxt - b)).sum(axis=1)
    if ((turn == 0) & (back > 0)).any():
        return False
    if n == 3:
        return bool(polygon_area(p) > 0)
    for i in range(n - 2):
        last = n - 1 if i > 0 else n - 2  # edge 0 and edge n-1 are adjacent
        if last < i + 2:
            continue
        j = np.arange(i + 2, last + 1)
        if _segments_intersect(a[i], b[i], a[j], b[j]).any():
            return False
    return True


def polygon_to_mask(points: PointsLike, shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
    """Rasterise a polygon with the pixel-centre rule.

    Parameters
    ----------
    points
        Vertices ``(x, y)`` in pixel coordinates, implicitly closed.
    shape
        ``(rows, cols)`` of the image.

    Returns
    -------
    numpy.ndarray
        Boolean mask of ``shape``; parts of the polygon outside the image are clipped.

    Raises
    ------
    PolygonError
        When the points are not a polygon.
    MaskShapeError
        When ``shape`` is not two positive sizes.
    """
    p = validate_polygon(points)
    if len(shape) != 2 or min(shape) < 1:
        raise MaskShapeError(
            f"image shape must be (rows, cols) with both >= 1; got {shape}",
            actual=tuple(shape),
        )
    rows, cols = int(shape[0]), int(shape[1])
    mask = np.zeros((rows, cols), dtype=np.bool_)
    x0, y0 = p[:, 0], p[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    top = max(0, math.ceil(float(y0.min()) - 0.5))
    bottom = min(rows - 1, math.ceil(float(y0.max()) - 0.5) - 1)
    for r in range(top, bottom + 1):
        yc = r + 0.5
        crosses = ((y0 <= yc) & (y1 > yc)) | ((y1 <= yc) & (y0 > yc))
        if not crosses.any():
            continue
        # Multiply before dividing: exact for edges through integer corners.
        dx = x1[crosses] - x0[crosses]
        xs = np.sort(x0[crosses] + (yc - y0[crosses]) * dx / (y1[crosses] - y0[crosses]))
        for left, right in zip(xs[0::2], xs[1::2], strict=True):
            c0 = max(0, math.ceil(float(left) - 0.5))
            c1 = min(cols, math.ceil(float(right) - 0.5))
            if c1 > c0:
                mask[r, c0:c1] = ~mask[r, c0:c1]  # even-odd
    return mask


def mask_to_polygons(mask: npt.ArrayLike) -> list[list[Point]]:
    """Trace the outer boundary of every 8-connected region of a mask.

    Each polygon follows pixel edges (vertices on pixel corners, collinear
    vertices removed), so rasterising it with :func:`polygon_to_mask` gives
    back the region with its holes filled. Used for COCO polygons. Where two
    pixels of a region touch only diagonally the ring passes that corner twice
    (COCO accepts this; :func:`polygon_is_simple` does not).

    Parameters
    ----------
    mask
        2D binary array.

    Returns
    -------
    list
        One vertex list per region, counter-clockwise on screen, largest region first.
    """
    array = np.asarray(mask) != 0
    if array.ndim != 2:
        raise MaskShapeError(
            f"mask_to_polygons needs a 2D mask; got shape {array.shape}",
            actual=tuple(array.shape),
        )
    labels, _ = ndimage.label(array, structure=np.ones((3, 3), dtype=bool))
    polygons: list[tuple[int, list[Point]]] = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        region = np.pad(labels[box] == index, 1)
        region = ndimage.binary_fill_holes(region)
        ring = _trace_outer(region)
        dy, dx = box[0].start - 1, box[1].start - 1
        polygons.append((int(region.sum()), [(x + dx, y + dy) for x, y in ring]))
    polygons.sort(key=lambda item: -item[0])
    return [ring for _, ring in polygons]


def _trace_outer(region: npt.NDArray[np.bool_]) -> list[Point]:
    """Walk the outer pixel-edge boundary of one filled region (padded by one pixel)."""
    # Directed boundary edges with the region on the left when walking on screen
    # (x right, y down): encode a corner as (x, y) and keep a successor map.
    succ: dict[tuple[int, int], list[tuple[int, int]]] = {}
    rows, cols = np.nonzero(region)
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        if not region[r - 1, c]:  # top edge, walk right-to-left
            succ.setdefault((c + 1, r), []).append((c, r))
        if not region[r + 1, c]:  # bottom edge, walk left-to-right
            succ.setdefault((c, r + 1), []).append((c + 1, r + 1))
        if not region[r, c - 1]:  # left edge, walk top-to-bottom
            succ.setdefault((c, r), []).append((c, r + 1))
        if not region[r, c + 1]:  # right edge, walk bottom-to-top
            succ.setdefault((c + 1, r + 1), []).append((c + 1, r))
    start = min(succ)
    ring: list[tuple[int, int]] = [start]
    previous = start
    current = succ[start].pop()
    while current != start:
        ring.append(current)
        options = succ[current]
        if len(options) > 1:  # a pinch corner: keep turning the same way to stay outside
            heading = (current[0] - previous[0], current[1] - previous[1])
            options.sort(key=lambda nxt: _turn_rank(heading, current, nxt))
        previous, current = current, options.pop(0)
    return [(float(x), float(y)) for x, y in _drop_collinear(ring)]


def _turn_rank(heading: tuple[int, int], at: tuple[int, int], nxt: tuple[int, int]) -> int:
    direction = (nxt[0] - at[0], nxt[1] - at[1])
    cross = heading[0] * direction[1] - heading[1] * direction[0]
    return 0 if cross > 0 else 1


def _drop_collinear(ring: list[tuple[int, int]]) -> list[tuple[int, int]]:
    kept = []
    n = len(ring)
    for i, point in enumerate(ring):
        before, after = ring[i - 1], ring[(i + 1) % n]
        cross = (point[0] - before[0]) * (after[1] - point[1]) - (point[1] - before[1]) * (
            after[0] - point[0]
        )
        if cross != 0:
            kept.append(point)
    return kept


def _cross(
    o: npt.NDArray[np.float64], a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Return the z component of (a - o) x (b - o), row-wise."""
    result: npt.NDArray[np.float64] = (a[..., 0] - o[..., 0]) * (b[..., 1] - o[..., 1]) - (
        a[..., 1] - o[..., 1]
    ) * (b[..., 0] - o[..., 0])
    return result


def _segments_intersect(
    p: npt.NDArray[np.float64],
    q: npt.NDArray[np.float64],
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
) -> npt.NDArray[np.bool_]:
    """Whether segment pq meets each segment a[k]b[k] (touching counts)."""
    pp = np.broadcast_to(p, a.shape)
    qq = np.broadcast_to(q, a.shape)
    d1 = np.sign(_cross(a, b, pp))
    d2 = np.sign(_cross(a, b, qq))
    d3 = np.sign(_cross(pp, qq, a))
    d4 = np.sign(_cross(pp, qq, b))
    proper = (d1 * d2 < 0) & (d3 * d4 < 0)
    touch = (
        ((d1 == 0) & _on_segment(a, b, pp))
        | ((d2 == 0) & _on_segment(a, b, qq))
        | ((d3 == 0) & _on_segment(pp, qq, a))
        | ((d4 == 0) & _on_segment(pp, qq, b))
    )
    result: npt.NDArray[np.bool_] = proper | touch
    return result


def _on_segment(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], p: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """Whether collinear point p lies within the bounding box of segment ab."""
    lo = np.minimum(a, b)
    hi = np.maximum(a, b)
    inside: npt.NDArray[np.bool_] = np.all((p >= lo) & (p <= hi), axis=-1)
    return inside
