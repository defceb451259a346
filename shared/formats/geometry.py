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

__all__ = ["LPS_TO_RAS", "Plane", "SeriesGeometry", "plane_of"]

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
"""Flips DICOM's patient axes (left, posterior, superior) to NIfTI's (right, anterior, superior)."""

_TOLERANCE_MM = 1e-3


@dataclass(frozen=True)
class Plane:
    """Where one slice (an image, or one frame of a multi-frame image) lies.

    ``spacing`` is PixelSpacing (between rows, between columns); ``thickness``
    is SpacingBetweenSlices, else SliceThickness, when known.
    """

    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float, float, float]
    spacing: tuple[float, float]
    thickness: float | None = None


def plane_of(ds: Dataset, frame: int | None = None, index: int = 0) -> Plane:
    """Read the plane of a single-frame image, or of ``frame`` (1-based) of a multi-frame one.

    Multi-frame images are read from their per-frame functional groups, then the
    shared ones; single-frame images from their top-level attributes.

    Raises
    ------
    SeriesGeometryError
        When position, orientation or pixel spacing is missing (``index``
        names the slice in the message).
    """
    sources: list[Dataset] = [ds]
    if frame is not None:
        per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
        shared = ds.get("SharedFunctionalGroupsSequence") or []
        if 1 <= frame <= len(per_frame):
            sources = [per_frame[frame - 1], *shared, ds]
        else:
            sources = [*shared, ds]

    def find(sequence: str, keyword: str) -> list[float] | None:
        for item in sources:
            for inner in item.get(sequence) or []:
                found = _numbers(inner, keyword)
                if found is not None:
                    return found
        return _numbers(ds, keyword)

    position = find("PlanePositionSequence", "ImagePositionPatient")
    orientation = find("PlaneOrientationSequence", "ImageOrientationPatient")
    spacing = find("PixelMeasuresSequence", "PixelSpacing")
    for name, value, size in (
        ("ImagePositionPatient", position, 3),
        ("ImageOrientationPatient", orientation, 6),
        ("PixelSpacing", spacing, 2),
    ):
        if value is None or len(value) != size:
            raise SeriesGeometryError(
                f"slice {index} of the source series has no {name}; only series with "
                "plane geometry (e.g. CT, MR) can be exported to this format"
            )
    assert position is not None and orientation is not None and spacing is not None
    thickness = find("PixelMeasuresSequence", "SpacingBetweenSlices") or find(
        "PixelMeasuresSequence", "SliceThickness"
    )
    return Plane(
        position=(position[0], position[1], position[2]),
        orientation=(
            orientation[0],
            orientation[1],
            orientation[2],
            orientation[3],
            orientation[4],
            orientation[5],
        ),
        spacing=(spacing[0], spacing[1]),
        thickness=thickness[0] if thickness else None,
    )


def _numbers(item: Dataset, keyword: str) -> list[float] | None:
    if keyword not in item:
        return None
    value = item[keyword].value
    if value is None or value == "":
        return None
    if isinstance(value, str | bytes | int | float):
        return [float(value)]
    return [float(v) for v in value]


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
    def from_datasets(
        cls, datasets: Sequence[Dataset], frames: Sequence[int | None] | None = None
    ) -> SeriesGeometry:
        """Read the geometry of an ordered series.

        Parameters
        ----------
        datasets
            One dataset per slice, in slice order (a multi-frame instance repeats).
        frames
            Per slice, the 1-based frame of a multi-frame instance, or ``None``
            for a single-frame instance; all ``None`` when omitted.

        Raises
        ------
        SeriesGeometryError
            When the series is empty, a slice lacks position, orientation or
            spacing, slices differ in matrix, orientation or spacing, or the
            slices are not evenly spaced along one line.
        """
        if not datasets:
            raise SeriesGeometryError("the source series has no instances")
        frame_numbers = list(frames) if frames is not None else [None] * len(datasets)
        planes = [
            plane_of(ds, frame, index)
            for index, (ds, frame) in enumerate(zip(datasets, frame_numbers, strict=True))
        ]
        first = planes[0]
        shape = (int(datasets[0].Rows), int(datasets[0].Columns))
        for index, (ds, plane) in enumerate(zip(datasets, planes, strict=True)):
            same = (
                np.allclose(plane.orientation, first.orientation, atol=1e-4)
                and np.allclose(plane.spacing, first.spacing, atol=1e-4)
                and (int(ds.Rows), int(ds.Columns)) == shape
            )
            if not same:
                raise SeriesGeometryError(
                    f"slice {index} differs from slice 0 in orientation, pixel spacing or "
                    "matrix size; export each stack of one geometry separately"
                )
        positions = np.array([plane.position for plane in planes], dtype=np.float64)
        row_cosine = np.array(first.orientation[:3])
        column_cosine = np.array(first.orientation[3:])
        normal = np.cross(row_cosine, column_cosine)
        if len(planes) > 1:
            step = (positions[-1] - positions[0]) / (len(planes) - 1)
            expected = positions[0] + np.outer(np.arange(len(planes)), step)
            if np.abs(positions - expected).max() > max(_TOLERANCE_MM, 0.01 * np.linalg.norm(step)):
                raise SeriesGeometryError(
                    "the slices of the source series are not evenly spaced along one line; "
                    "a single affine cannot describe them"
                )
            if np.linalg.norm(step) < _TOLERANCE_MM:
                raise SeriesGeometryError("two slices of the source series share one position")
        else:
            step = normal * (first.thickness or 1.0)
        return cls(
            rows=shape[0],
            columns=shape[1],
            slices=len(planes),
            row_cosine=_triple(row_cosine),
            column_cosine=_triple(column_cosine),
            row_spacing=first.spacing[0],
            column_spacing=first.spacing[1],
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
