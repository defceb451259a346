"""Where every voxel of a phantom lies in patient coordinates (LPS, mm).

Slices are axial: ImageOrientationPatient is ``[1, 0, 0, 0, 1, 0]`` (rows run
towards the patient's left, columns towards the back), the slice normal is
``+z`` (towards the head) and slice ``k`` (InstanceNumber ``k + 1``) lies at
``origin + k * slice_spacing * normal``. The volume is centred on the patient
origin, so a voxel centre is ``(x[c], y[r], z[k])``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["COLUMN_DIRECTION", "NORMAL", "ROW_DIRECTION", "VolumeGeometry"]

ROW_DIRECTION = (1.0, 0.0, 0.0)
"""Direction cosine of a row (increasing column index): patient left."""
COLUMN_DIRECTION = (0.0, 1.0, 0.0)
"""Direction cosine of a column (increasing row index): patient posterior."""
NORMAL = (0.0, 0.0, 1.0)
"""Slice normal (row direction × column direction): patient superior."""


@dataclass(frozen=True)
class VolumeGeometry:
    """The voxel grid of one phantom series.

    Parameters
    ----------
    rows, columns, slices
        Grid size.
    pixel_spacing_mm
        Square in-plane spacing.
    slice_spacing_mm
        Distance between neighbouring slice centres along :data:`NORMAL`.
    """

    rows: int
    columns: int
    slices: int
    pixel_spacing_mm: float
    slice_spacing_mm: float

    @property
    def origin_mm(self) -> tuple[float, float, float]:
        """ImagePositionPatient of the first slice (centre of its first voxel)."""
        return (
            -(self.columns - 1) / 2.0 * self.pixel_spacing_mm,
            -(self.rows - 1) / 2.0 * self.pixel_spacing_mm,
            -(self.slices - 1) / 2.0 * self.slice_spacing_mm,
        )

    @property
    def field_of_view_mm(self) -> tuple[float, float]:
        """Width (x) and height (y) of a slice in mm."""
        return (self.columns * self.pixel_spacing_mm, self.rows * self.pixel_spacing_mm)

    def position_mm(self, index: int) -> tuple[float, float, float]:
        """Return ImagePositionPatient of slice ``index`` (0-based)."""
        x0, y0, z0 = self.origin_mm
        return (x0, y0, z0 + index * self.slice_spacing_mm)

    def x_mm(self) -> npt.NDArray[np.float64]:
        """Patient x of every column centre, shape ``(columns,)``."""
        return _axis(self.origin_mm[0], self.columns, self.pixel_spacing_mm)

    def y_mm(self) -> npt.NDArray[np.float64]:
        """Patient y of every row centre, shape ``(rows,)``."""
        return _axis(self.origin_mm[1], self.rows, self.pixel_spacing_mm)

    def z_mm(self) -> npt.NDArray[np.float64]:
        """Patient z of every slice centre, shape ``(slices,)``."""
        return _axis(self.origin_mm[2], self.slices, self.slice_spacing_mm)

    def bounds_mm(self) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
        """Extent per axis, voxel edges included: ``((x0, x1), (y0, y1), (z0, z1))``."""
        x0, y0, z0 = self.origin_mm
        half_px = self.pixel_spacing_mm / 2.0
        half_dz = self.slice_spacing_mm / 2.0
        return (
            (x0 - half_px, -x0 + half_px),
            (y0 - half_px, -y0 + half_px),
            (z0 - half_dz, -z0 + half_dz),
        )

    def voxel_index(self, point_mm: tuple[float, float, float]) -> tuple[int, int, int]:
        """Return ``(slice, row, column)`` of the voxel nearest ``point_mm`` (not clipped)."""
        x0, y0, z0 = self.origin_mm
        x, y, z = point_mm
        return (
            round((z - z0) / self.slice_spacing_mm),
            round((y - y0) / self.pixel_spacing_mm),
            round((x - x0) / self.pixel_spacing_mm),
        )


def _axis(start: float, count: int, step: float) -> npt.NDArray[np.float64]:
    return start + np.arange(count, dtype=np.float64) * np.float64(step)
