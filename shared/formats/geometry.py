"""Where the voxels of a source series lie in patient space (LPS, mm).

:class:`SeriesGeometry` reads ImagePositionPatient, ImageOrientationPatient and
PixelSpacing of an ordered single-frame series and gives the voxel → patient
affine that the NIfTI writer needs. Voxel indices are ``(slice, row, column)``
as in the annotation masks; the affine works on ``(column, row, slice)``
(i, j, k), the order NIfTI readers expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from shared.formats.errors import SeriesGeometryError

__all__ = ["LPS_TO_RAS", "SeriesGeometry"]

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
"""Flips DICOM's patient axes (left, posterior, superior) to NIfTI's (right, anterior, superior)."""

_TOLERANCE_MM = 1e-3


@dataclass(frozen=True)
class SeriesGeometry:
    """The plane geometry of one ordered series of single-frame images.

    Parameters
    ----------
    rows, columns, slices
        Grid size.
    row_cosine, column_cosine
        ImageOrientationPatient split in two: the direction of increasing
        column index and of increasing row index.
    row_spacing, column_spacing
        PixelSpacing: distance between row centres, between column centres (mm).
    positions
        ImagePositionPatient of every slice, shape ``(slices, 3)``.
    slice_step
        Vector from one slice's position to the next (mm); for a single slice
        the normal times SpacingBetweenSlices or SliceThickness (or 1 mm).
    """

    rows: int
    columns: int
    slices: int
    row_cosine: tuple[float, float, float]
    column_cosine: tuple[float, float, float]
    row_spacing: float
    column_spacing: float
    positions: tuple[tuple[float, float, float], ...]
    slice_step: tuple[float, float, float]

    @classmethod
    def from_datasets(cls, datasets: Sequence[Dataset]) -> SeriesGeometry:
        """Read the geometry of an ordered series.

        Raises
        ------
        SeriesGeometryError
            When the series is empty, a slice lacks position, orientation or
            spacing, slices differ in matrix, orientation or spacing, or the
            slices are not evenly spaced along one line.
        """
        if not datasets:
            raise SeriesGeometryError("the source series has no instances")
        first = datasets[0]
        for name in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
            missing = [i for i, ds in enumerate(datasets) if name not in ds]
            if missing:
                raise SeriesGeometryError(
                    f"slice {missing[0]} of the source series has no {name}; only series with "
                    "plane geometry (e.g. CT, MR) can be exported to this format"
                )
        orientation = [float(v) for v in first.ImageOrientationPatient]
        spacing = [float(v) for v in first.PixelSpacing]
        shape = (int(first.Rows), int(first.Columns))
        for index, ds in enumerate(datasets):
            same = (
                np.allclose([float(v) for v in ds.ImageOrientationPatient], orientation, atol=1e-4)
                and np.allclose([float(v) for v in ds.PixelSpacing], spacing, atol=1e-4)
                and (int(ds.Rows), int(ds.Columns)) == shape
            )
            if not same:
                raise SeriesGeometryError(
                    f"slice {index} differs from slice 0 in orientation, pixel spacing or "
                    "matrix size; export each stack of one geometry separately"
                )
        positions = np.array(
            [[float(v) for v in ds.ImagePositionPatient] for ds in datasets], dtype=np.float64
        )
        row_cosine = np.array(orientation[:3])
        column_cosine = np.array(orientation[3:])
        normal = np.cross(row_cosine, column_cosine)
        if len(datasets) > 1:
            step = (positions[-1] - positions[0]) / (len(datasets) - 1)
            expected = positions[0] + np.outer(np.arange(len(datasets)), step)
            if np.abs(positions - expected).max() > max(_TOLERANCE_MM, 0.01 * np.linalg.norm(step)):
                raise SeriesGeometryError(
                    "the slices of the source series are not evenly spaced along one line; "
                    "a single affine cannot describe them"
                )
            if np.linalg.norm(step) < _TOLERANCE_MM:
                raise SeriesGeometryError("two slices of the source series share one position")
        else:
            thickness = first.get("SpacingBetweenSlices") or first.get("SliceThickness") or 1.0
            step = normal * float(thickness)
        return cls(
            rows=shape[0],
            columns=shape[1],
            slices=len(datasets),
            row_cosine=_triple(row_cosine),
            column_cosine=_triple(column_cosine),
            row_spacing=spacing[0],
            column_spacing=spacing[1],
            positions=tuple(_triple(p) for p in positions),
            slice_step=_triple(step),
        )

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(slices, rows, columns)``, the shape of a mask volume of this series."""
        return (self.slices, self.rows, self.columns)

    def affine_lps(self) -> npt.NDArray[np.float64]:
        """Return the 4x4 matrix mapping ``(column, row, slice, 1)`` to patient LPS (mm)."""
        affine = np.eye(4)
        affine[:3, 0] = np.array(self.row_cosine) * self.column_spacing
        affine[:3, 1] = np.array(self.column_cosine) * self.row_spacing
        affine[:3, 2] = np.array(self.slice_step)
        affine[:3, 3] = np.array(self.positions[0])
        return affine

    def affine_ras(self) -> npt.NDArray[np.float64]:
        """Return the 4x4 matrix mapping ``(column, row, slice, 1)`` to RAS (mm), for NIfTI."""
        result: npt.NDArray[np.float64] = LPS_TO_RAS @ self.affine_lps()
        return result


def _triple(values: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))
