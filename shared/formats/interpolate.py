"""Shape-based interpolation of a mask between key slices.

Each key slice becomes a signed distance map (negative inside, positive
outside, in pixels); a slice between two key slices takes the linear blend of
their maps and keeps the pixels where the blend is negative (Raya & Udupa,
"Shape-based interpolation of multidimensional objects", IEEE TMI 1990). Key
slices come back exactly as given; between two nested shapes the area grows or
shrinks monotonically.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from shared.formats.errors import MaskShapeError

__all__ = ["interpolate_key_slices", "signed_distance"]


def signed_distance(mask: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Return the signed Euclidean distance map of a 2D mask.

    Inside pixels carry minus their distance to the nearest outside pixel,
    outside pixels their distance to the nearest inside pixel, so no pixel is 0.
    An empty mask is "far outside" everywhere (rows + cols); a full mask is
    "far inside".
    """
    array = np.asarray(mask) != 0
    far = float(sum(array.shape) + 1)
    if not array.any():
        return np.full(array.shape, far)
    if array.all():
        return np.full(array.shape, -far)
    outside = ndimage.distance_transform_edt(~array)
    inside = ndimage.distance_transform_edt(array)
    result: npt.NDArray[np.float64] = np.asarray(outside, dtype=np.float64) - np.asarray(
        inside, dtype=np.float64
    )
    return result


def interpolate_key_slices(
    key_masks: Mapping[int, npt.ArrayLike],
) -> dict[int, npt.NDArray[np.bool_]]:
    """Fill every slice between consecutive key slices by shape-based interpolation.

    Parameters
    ----------
    key_masks
        Slice index → 2D mask, all of one shape; at least one entry.

    Returns
    -------
    dict
        Every slice index from the lowest to the highest key slice → boolean
        mask; key slices are returned unchanged.

    Raises
    ------
    MaskShapeError
        When there is no key slice, a mask is not 2D, or the shapes differ.
    """
    if not key_masks:
        raise MaskShapeError("interpolation needs at least one key slice")
    keys = sorted(key_masks)
    masks = {k: np.asarray(key_masks[k]) != 0 for k in keys}
    shape = masks[keys[0]].shape
    for k in keys:
        if masks[k].ndim != 2 or masks[k].shape != shape:
            raise MaskShapeError(
                f"key slice {k} has shape {masks[k].shape}; every key slice must be a 2D mask "
                f"of the first one's shape {shape}",
                expected=tuple(shape),
                actual=tuple(masks[k].shape),
            )
    result: dict[int, npt.NDArray[np.bool_]] = {keys[0]: masks[keys[0]]}
    for low, high in itertools.pairwise(keys):
        result[high] = masks[high]
        if high - low < 2:
            continue
        d_low, d_high = signed_distance(masks[low]), signed_distance(masks[high])
        for k in range(low + 1, high):
            t = (k - low) / (high - low)
            result[k] = ((1.0 - t) * d_low + t * d_high) < 0
    return dict(sorted(result.items()))
