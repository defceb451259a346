"""Surface distances between two readers' masks, in millimetres: Hausdorff, HD95, ASSD.

Surfaces
    A mask's surface is its set of border voxels: ``mask & ~erode(mask)`` with a
    face-connected structuring element (4-connectivity in 2D, 6 in 3D) and
    everything outside the image counted as background, so a mask touching the
    image edge has its edge voxels on the surface.

Distances
    For each surface voxel of A, the Euclidean distance in mm to the nearest surface
    voxel of B, from :func:`scipy.ndimage.distance_transform_edt` with
    ``sampling=spacing`` (and vice versa). ``spacing`` is given per array axis: for
    a ``(slices, rows, columns)`` volume, ``(slice spacing, row spacing, column
    spacing)`` in mm — so 2D and anisotropic 3D data are both measured in mm.

    * Hausdorff distance ``HD = max(max d(A→B), max d(B→A))`` (Huttenlocher 1993).
    * ``HD_p`` (e.g. HD95) ``= max(P_p d(A→B), P_p d(B→A))``: the larger of the two
      directed p-th percentiles (linear interpolation, :func:`numpy.percentile`), as
      in MONAI's ``compute_hausdorff_distance``.
    * Average symmetric surface distance
      ``ASSD = (Σ d(A→B) + Σ d(B→A)) / (|S_A| + |S_B|)`` (Heimann et al. 2009).

    The tests compare all three with MONAI's ``HausdorffDistanceMetric`` (``percentile=95``
    for HD95) and ``SurfaceDistanceMetric(symmetric=True)``, in 2D and anisotropic 3D:
    the surfaces, the directed percentiles and the concatenated ASSD mean are the same
    definitions (MONAI works in float32, so figures agree to about 1e-6 relative).

Empty masks — convention, made explicit
    Both empty: every distance is **0.0** (the readers agree there is nothing; MONAI
    returns ``nan`` here, with a warning).
    Exactly one empty: the distance is **inf** (``math.inf``): there is no surface
    to measure to, and any finite number would understate the disagreement.
    Dashboards should count these cases, as :class:`DistanceHistogramStats` does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.agreement.errors import AgreementInputError
from shared.agreement.validation import as_mask, check_same_shape, check_spacing

__all__ = ["directed_surface_distances", "hausdorff", "surface_distance", "surface_voxels"]


def surface_voxels(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Border voxels of a boolean mask (face-connected erosion, background outside).

    Parameters
    ----------
    mask
        Boolean mask.

    Returns
    -------
    numpy.ndarray
        Boolean array, true on the mask's surface.
    """
    from scipy import ndimage  # on first use: see detection.py

    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    eroded = ndimage.binary_erosion(mask, structure=structure, border_value=0)
    return np.asarray(mask & ~eroded, dtype=np.bool_)


def _crop(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> tuple[slice, ...]:
    """Bounding box of ``a | b`` grown by one voxel: distances inside it are exact."""
    both = a | b
    slices = []
    for axis in range(both.ndim):
        other = tuple(i for i in range(both.ndim) if i != axis)
        hit = np.flatnonzero(both.any(axis=other))
        slices.append(slice(max(int(hit[0]) - 1, 0), min(int(hit[-1]) + 2, both.shape[axis])))
    return tuple(slices)


def directed_surface_distances(
    a: ArrayLike, b: ArrayLike, spacing: Sequence[float] | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Distances in mm from each surface voxel of A to B's surface, and of B to A's.

    Parameters
    ----------
    a, b
        Boolean masks of the same 2-D or 3-D shape.
    spacing
        Millimetres between voxel centres per array axis; ``None`` means 1 mm.

    Returns
    -------
    tuple of numpy.ndarray
        ``(d_ab, d_ba)``. Both empty when both masks are empty. When exactly one mask
        is empty, the non-empty side's distances are ``inf`` and the other is empty.

    Raises
    ------
    AgreementInputError
        If a mask is not boolean or is not 2-D/3-D.
    ShapeMismatchError
        If the shapes differ.
    SpacingError
        If the spacing is invalid.
    """
    mask_a, mask_b = as_mask(a, "a"), as_mask(b, "b")
    check_same_shape(mask_a, mask_b, ("a", "b"))
    if mask_a.ndim not in (2, 3):
        raise AgreementInputError(
            f"surface distances need 2-D or 3-D masks; got {mask_a.ndim}-D. Pass one "
            "image or volume per call."
        )
    sampling = check_spacing(spacing, mask_a.ndim)
    has_a, has_b = bool(mask_a.any()), bool(mask_b.any())
    empty = np.zeros(0, dtype=np.float64)
    if not has_a and not has_b:
        return empty, empty
    if not (has_a and has_b):
        only = mask_a if has_a else mask_b
        inf = np.full(int(np.count_nonzero(surface_voxels(only))), np.inf)
        return (inf, empty) if has_a else (empty, inf)
    box = _crop(mask_a, mask_b)
    surf_a, surf_b = surface_voxels(mask_a[box]), surface_voxels(mask_b[box])
    from scipy import ndimage  # on first use: see detection.py

    dist_to_b = ndimage.distance_transform_edt(~surf_b, sampling=sampling)
    dist_to_a = ndimage.distance_transform_edt(~surf_a, sampling=sampling)
    return (
        np.asarray(dist_to_b[surf_a], dtype=np.float64),
        np.asarray(dist_to_a[surf_b], dtype=np.float64),
    )


def hausdorff(
    a: ArrayLike,
    b: ArrayLike,
    spacing: Sequence[float] | None = None,
    percentile: float = 100.0,
) -> float:
    """Symmetric (percentile) Hausdorff distance between two masks' surfaces, in mm.

    Parameters
    ----------
    a, b
        Boolean masks of the same 2-D or 3-D shape.
    spacing
        Millimetres per array axis; ``None`` means 1 mm.
    percentile
        100 for the Hausdorff distance, 95 for HD95; any value in (0, 100].

    Returns
    -------
    float
        Distance in mm; 0.0 when both masks are empty, ``inf`` when exactly one is.

    Raises
    ------
    AgreementInputError
        If ``percentile`` is outside (0, 100] or a mask is invalid.
    ShapeMismatchError, SpacingError
        On mismatched shapes or invalid spacing.
    """
    if not (0.0 < percentile <= 100.0):
        raise AgreementInputError(
            f"percentile must lie in (0, 100] (100 = Hausdorff, 95 = HD95); got {percentile}."
        )
    d_ab, d_ba = directed_surface_distances(a, b, spacing)
    if d_ab.size == 0 and d_ba.size == 0:
        return 0.0
    if d_ab.size == 0 or d_ba.size == 0:
        return math.inf
    return float(max(np.percentile(d_ab, percentile), np.percentile(d_ba, percentile)))


def surface_distance(a: ArrayLike, b: ArrayLike, spacing: Sequence[float] | None = None) -> float:
    """Average symmetric surface distance (ASSD) between two masks, in mm.

    Parameters
    ----------
    a, b
        Boolean masks of the same 2-D or 3-D shape.
    spacing
        Millimetres per array axis; ``None`` means 1 mm.

    Returns
    -------
    float
        ASSD in mm; 0.0 when both masks are empty, ``inf`` when exactly one is.

    Raises
    ------
    AgreementInputError, ShapeMismatchError, SpacingError
        On invalid input.
    """
    d_ab, d_ba = directed_surface_distances(a, b, spacing)
    if d_ab.size == 0 and d_ba.size == 0:
        return 0.0
    if d_ab.size == 0 or d_ba.size == 0:
        return math.inf
    return float((d_ab.sum() + d_ba.sum()) / (d_ab.size + d_ba.size))
