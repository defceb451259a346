"""The anatomy-like background of a phantom: a torso drawn slice by slice.

Every slice is a map of :class:`Tissue` indices. The torso is an ellipse with
a ring of subcutaneous fat, soft tissue inside, a vertebral body (cortical
ring and marrow) with its canal, an aorta, a segmented ring of ribs in the
thorax, two lungs that grow towards the head, and a liver on the patient's
right in the upper abdomen. Sizes are fractions of the field of view, so the
torso fills any matrix and spacing sensibly; the position along the series is
the fraction ``f`` of the way from the first (inferior) slice to the last.

Tissue values are typical CT numbers (HU) and arbitrary T1-weighted-like MR
signal levels; :mod:`shared.phantoms.render` turns them into pixels.
"""

from __future__ import annotations

import math
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from shared.phantoms.geometry import VolumeGeometry

__all__ = ["Anatomy", "Region", "Tissue", "fill_ellipse", "series_fraction", "tissue_lut"]

Mask = npt.NDArray[np.bool_]
Region = tuple[slice, slice, Mask]
"""Rows and columns of a bounding box, and the mask of the pixels inside it."""


class Tissue(IntEnum):
    """Tissue classes of the background, with a CT number and an MR signal."""

    AIR = 0
    FAT = 1
    SOFT_TISSUE = 2
    LIVER = 3
    LUNG = 4
    BONE = 5
    MARROW = 6
    BLOOD = 7

    @property
    def ct_number(self) -> float:
        """Typical CT number in HU (contrast-enhanced blood)."""
        return _CT_NUMBERS[self]

    @property
    def mr_signal(self) -> float:
        """Signal on a T1-weighted-like MR image (arbitrary units, 12-bit range)."""
        return _MR_SIGNALS[self]


_CT_NUMBERS = {
    Tissue.AIR: -1000.0,
    Tissue.FAT: -100.0,
    Tissue.SOFT_TISSUE: 40.0,
    Tissue.LIVER: 60.0,
    Tissue.LUNG: -850.0,
    Tissue.BONE: 700.0,
    Tissue.MARROW: 250.0,
    Tissue.BLOOD: 180.0,
}
_MR_SIGNALS = {
    Tissue.AIR: 0.0,
    Tissue.FAT: 1100.0,
    Tissue.SOFT_TISSUE: 600.0,
    Tissue.LIVER: 520.0,
    Tissue.LUNG: 30.0,
    Tissue.BONE: 60.0,
    Tissue.MARROW: 750.0,
    Tissue.BLOOD: 150.0,
}


def tissue_lut(modality_is_ct: bool) -> npt.NDArray[np.float32]:
    """Return the lookup table tissue index → intensity (HU for CT, signal for MR)."""
    return np.array(
        [t.ct_number if modality_is_ct else t.mr_signal for t in Tissue], dtype=np.float32
    )


def series_fraction(index: int, slices: int) -> float:
    """Return how far slice ``index`` lies from the first (0) to the last (1) slice."""
    return index / (slices - 1) if slices > 1 else 0.5


def fill_ellipse(
    target: npt.NDArray[np.generic],
    x_mm: npt.NDArray[np.float64],
    y_mm: npt.NDArray[np.float64],
    center: tuple[float, float],
    semi_axes: tuple[float, float],
    value: float | int,
) -> Region | None:
    """Set every pixel whose centre lies inside an axis-aligned ellipse.

    Only the ellipse's bounding box is touched, so small shapes cost little.

    Parameters
    ----------
    target
        2-D array ``(rows, columns)``, changed in place.
    x_mm, y_mm
        Patient x of each column and y of each row (ascending).
    center
        Ellipse centre ``(x, y)`` in mm.
    semi_axes
        Semi-axes along x and y in mm; a non-positive one draws nothing.
    value
        Value written inside the ellipse.

    Returns
    -------
    tuple of (slice, slice, numpy.ndarray) or None
        The rows and columns of the bounding box and the boolean mask of the
        pixels written inside it, or ``None`` when the ellipse misses the slice.
    """
    box = _bounding_box(x_mm, y_mm, center, semi_axes)
    if box is None:
        return None
    r0, r1, c0, c1 = box
    inside = _inside(x_mm[c0:c1], y_mm[r0:r1], center, semi_axes)
    target[r0:r1, c0:c1][inside] = value
    return slice(r0, r1), slice(c0, c1), inside


def _bounding_box(
    x_mm: npt.NDArray[np.float64],
    y_mm: npt.NDArray[np.float64],
    center: tuple[float, float],
    semi_axes: tuple[float, float],
) -> tuple[int, int, int, int] | None:
    a, b = semi_axes
    if a <= 0.0 or b <= 0.0:
        return None
    c0 = int(np.searchsorted(x_mm, center[0] - a, side="left"))
    c1 = int(np.searchsorted(x_mm, center[0] + a, side="right"))
    r0 = int(np.searchsorted(y_mm, center[1] - b, side="left"))
    r1 = int(np.searchsorted(y_mm, center[1] + b, side="right"))
    if c0 >= c1 or r0 >= r1:
        return None
    return r0, r1, c0, c1


def _inside(
    x_mm: npt.NDArray[np.float64],
    y_mm: npt.NDArray[np.float64],
    center: tuple[float, float],
    semi_axes: tuple[float, float],
) -> Mask:
    u = ((x_mm - center[0]) / semi_axes[0]) ** 2
    v = ((y_mm - center[1]) / semi_axes[1]) ** 2
    result: Mask = (v[:, np.newaxis] + u[np.newaxis, :]) <= 1.0
    return result


class Anatomy:
    """Draws the torso of one series, one slice at a time.

    The parts that do not change along the series are drawn once here; each
    call to :meth:`tissue_slice` copies them and adds the lungs and liver.

    Parameters
    ----------
    geometry
        The series' voxel grid.
    """

    def __init__(self, geometry: VolumeGeometry) -> None:
        self._geometry = geometry
        self._x = geometry.x_mm()
        self._y = geometry.y_mm()
        width, height = geometry.field_of_view_mm
        self._w = width
        self._h = height
        small = min(width, height)

        base = np.full((geometry.rows, geometry.columns), Tissue.AIR, dtype=np.uint8)
        body_c = (0.0, 0.02 * height)
        body_r = (0.40 * width, 0.28 * height)
        fill_ellipse(base, self._x, self._y, body_c, body_r, Tissue.FAT)
        fill_ellipse(base, self._x, self._y, body_c, _scaled(body_r, 0.92), Tissue.SOFT_TISSUE)
        self._base = base

        # Static structures drawn over the z-dependent organs.
        overlay = np.zeros_like(base)
        covered = np.zeros(base.shape, dtype=np.bool_)
        spine_c = (0.0, 0.19 * height)
        spine_r = 0.045 * small
        parts = (
            ((0.04 * width, 0.12 * height), (0.02 * small, 0.02 * small), Tissue.BLOOD),
            ((0.0, 0.255 * height), (0.018 * small, 0.018 * small), Tissue.SOFT_TISSUE),
            (spine_c, (spine_r, spine_r), Tissue.BONE),
            (spine_c, (0.75 * spine_r, 0.75 * spine_r), Tissue.MARROW),
        )
        for center, radii, tissue in parts:
            drawn = fill_ellipse(overlay, self._x, self._y, center, radii, tissue)
            if drawn is not None:
                rows, cols, inside = drawn
                covered[rows, cols] |= inside
        self._overlay = overlay
        self._overlay_mask = covered

        # Ribs: a ring just inside the fat, broken into segments by angle.
        outer = _inside(self._x, self._y, body_c, _scaled(body_r, 0.88))
        inner = _inside(self._x, self._y, body_c, _scaled(body_r, 0.84))
        angle = np.arctan2(
            (self._y - body_c[1])[:, np.newaxis] / body_r[1],
            (self._x - body_c[0])[np.newaxis, :] / body_r[0],
        )
        segments = np.cos(14.0 * angle) > -0.1
        self._ribs: Mask = outer & ~inner & segments

    def tissue_slice(self, index: int) -> npt.NDArray[np.uint8]:
        """Return the tissue map of slice ``index``, shape ``(rows, columns)``.

        Parameters
        ----------
        index
            0-based slice index.

        Returns
        -------
        numpy.ndarray
            uint8 :class:`Tissue` values; a new array the caller may change.
        """
        f = series_fraction(index, self._geometry.slices)
        w, h = self._w, self._h
        tissue = self._base.copy()

        liver_scale = math.sin(math.pi * (f - 0.1) / 0.5) if 0.1 < f < 0.6 else 0.0
        if liver_scale > 0.0:
            radii = (0.17 * w * liver_scale, 0.16 * h * liver_scale)
            fill_ellipse(tissue, self._x, self._y, (-0.15 * w, 0.0), radii, Tissue.LIVER)

        lung_scale = math.sqrt(min(max((f - 0.4) / 0.3, 0.0), 1.0))
        if lung_scale > 0.0:
            radii = (0.12 * w * lung_scale, 0.17 * h * lung_scale)
            for side in (-1.0, 1.0):
                fill_ellipse(tissue, self._x, self._y, (side * 0.17 * w, 0.0), radii, Tissue.LUNG)

        if f > 0.4:
            tissue[self._ribs] = Tissue.BONE
        np.copyto(tissue, self._overlay, where=self._overlay_mask)
        return tissue


def _scaled(radii: tuple[float, float], factor: float) -> tuple[float, float]:
    return (radii[0] * factor, radii[1] * factor)
