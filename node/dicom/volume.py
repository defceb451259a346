"""A series assembled into one volume in patient space, and its MPR reslices.

Slices come from single-frame instances (CT, MR, PET series), from one
enhanced multi-frame instance (positions in the Per-Frame Functional Groups),
or from a classic multi-frame instance with a Grid Frame Offset Vector (RT
Dose). They are sorted by their position along the slice normal
(``ImagePositionPatient · (row × column)``), so the stack may be oblique; a
series that is not one regular stack (mixed orientations, sizes or pixel
spacings, duplicates, gantry tilt, missing slices) is refused with a
:class:`~node.errors.VolumeGeometryError` that names the problem.

Reslices are returned in display orientation (patient coordinates are DICOM
LPS): axial with anterior up and the patient's right on the viewer's left,
coronal with the head up and the patient's right on the left, sagittal with the
head up and anterior on the left. The volume axis used for each plane is the one
closest to that plane's normal, so a sagittally acquired MR gives true axial and
coronal reslices too.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom import Dataset

from node.dicom.pixels import decode_frame, frame_count, frame_item, modality_values
from node.dicom.volume_cache import VolumeCache
from node.dicom.windowing import file_window
from node.errors import NotFoundError, VolumeGeometryError

__all__ = ["Plane", "Volume", "VolumeCache", "assemble_volume", "reslice"]

Vector = tuple[float, float, float]


class Plane(enum.StrEnum):
    """MPR planes in patient space."""

    AXIAL = "axial"
    CORONAL = "coronal"
    SAGITTAL = "sagittal"


# Per plane: the patient axis of its normal (0 = x L-R, 1 = y A-P, 2 = z S-I), then the
# patient axis and direction that display rows and columns run along (LPS signs).
_DISPLAY: dict[Plane, tuple[int, tuple[int, int], tuple[int, int]]] = {
    Plane.AXIAL: (2, (1, +1), (0, +1)),  # rows anterior→posterior, columns right→left
    Plane.CORONAL: (1, (2, -1), (0, +1)),  # rows head→feet, columns right→left
    Plane.SAGITTAL: (0, (2, -1), (1, +1)),  # rows head→feet, columns anterior→posterior
}


@dataclass(frozen=True, eq=False)
class Volume:
    """Modality values on a regular grid, ``voxels[z, y, x]``.

    ``z`` ascends along ``slice_direction`` (row × column), ``y`` along
    ``column_direction`` (down the acquired image) and ``x`` along
    ``row_direction`` (across it). ``origin_mm`` is the centre of voxel
    ``[0, 0, 0]`` in patient coordinates. ``sop_instance_uids`` and
    ``frame_numbers`` name the source of each ``z`` slice.
    """

    voxels: np.ndarray
    spacing_mm: tuple[float, float, float]
    origin_mm: Vector
    row_direction: Vector
    column_direction: Vector
    slice_direction: Vector
    window: tuple[float, float] | None
    sop_instance_uids: tuple[str, ...]
    frame_numbers: tuple[int, ...] = ()

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(slices, rows, columns)``."""
        z, y, x = self.voxels.shape
        return int(z), int(y), int(x)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel spacing ``(z, y, x)`` in millimetres (same as ``spacing_mm``)."""
        return self.spacing_mm

    @property
    def nbytes(self) -> int:
        """Memory the voxels hold."""
        return int(self.voxels.nbytes)

    def axis_of(self, plane: Plane) -> int:
        """The voxel axis (0 = z, 1 = y, 2 = x) that is ``plane``'s normal."""
        return _patient_to_voxel_axes(self)[_DISPLAY[plane][0]]

    def slice_count(self, plane: Plane) -> int:
        """How many reslices ``plane`` has."""
        return self.shape[self.axis_of(plane)]


def _patient_to_voxel_axes(volume: Volume) -> tuple[int, int, int]:
    """For patient axes x, y, z: the voxel axis most aligned with each (a permutation)."""
    directions = np.abs(
        np.array([volume.slice_direction, volume.column_direction, volume.row_direction])
    )
    best = max(
        itertools.permutations(range(3)),
        key=lambda perm: sum(directions[perm[p], p] for p in range(3)),
    )
    return best[0], best[1], best[2]


def reslice(volume: Volume, plane: Plane, index: int) -> tuple[np.ndarray, tuple[float, float]]:
    """One plane of a volume, in display orientation, and its pixel spacing.

    Parameters
    ----------
    volume
        An assembled volume.
    plane
        Axial, coronal or sagittal.
    index
        0-based position along the voxel axis that is the plane's normal
        (:meth:`Volume.axis_of`), ``0 .. slice_count(plane) - 1``.

    Returns
    -------
    tuple
        2D modality values (a view where no flip or transpose was needed)
        and the spacing ``(row, column)`` in millimetres.

    Raises
    ------
    NotFoundError
        ``index`` is out of range.
    """
    axes = _patient_to_voxel_axes(volume)
    _, (row_patient, row_sign), (col_patient, col_sign) = _DISPLAY[plane]
    normal = volume.axis_of(plane)
    count = volume.shape[normal]
    if not 0 <= index < count:
        raise NotFoundError(
            f"{plane.value} slice {index} does not exist; this volume has {plane.value} "
            f"slices 0..{count - 1}"
        )
    selector: list[slice | int] = [slice(None)] * 3
    selector[normal] = index
    plane_values = volume.voxels[tuple(selector)]
    remaining = [a for a in range(3) if a != normal]
    row_axis, col_axis = axes[row_patient], axes[col_patient]
    if remaining != [row_axis, col_axis]:
        plane_values = plane_values.T
    vectors = (volume.slice_direction, volume.column_direction, volume.row_direction)
    if vectors[row_axis][row_patient] * row_sign < 0:
        plane_values = plane_values[::-1]
    if vectors[col_axis][col_patient] * col_sign < 0:
        plane_values = plane_values[:, ::-1]
    return plane_values, (volume.spacing_mm[row_axis], volume.spacing_mm[col_axis])


@dataclass(frozen=True)
class _Slice:
    """Where one frame lies, and where its pixels come from."""

    ds: Dataset
    frame: int
    position: np.ndarray
    orientation: np.ndarray
    pixel_spacing: tuple[float, float]
    size: tuple[int, int]

    @property
    def name(self) -> str:
        uid = self.ds.get("SOPInstanceUID", "?")
        return f"instance {uid} frame {self.frame}" if frame_count(self.ds) > 1 else str(uid)


def _numbers(source: Dataset | None, keyword: str, length: int, ds: Dataset) -> np.ndarray:
    value = source.get(keyword) if source is not None else None
    try:
        numbers = np.asarray([float(v) for v in value], dtype=np.float64)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        numbers = np.empty(0)
    if numbers.shape != (length,) or not np.all(np.isfinite(numbers)):
        raise VolumeGeometryError(
            f"instance {ds.get('SOPInstanceUID', '?')} lacks a valid {keyword}; MPR needs "
            "the Image Plane module (position, orientation, pixel spacing) on every slice"
        )
    return numbers


def _slices_of(ds: Dataset) -> list[_Slice]:
    """The slices one instance contributes: one, or one per frame."""
    frames = frame_count(ds)
    size = (int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0))
    if "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds:
        slices = []
        for frame in range(1, frames + 1):
            placed = frame_item(ds, frame, "PlanePositionSequence")
            oriented = frame_item(ds, frame, "PlaneOrientationSequence")
            measures = frame_item(ds, frame, "PixelMeasuresSequence")
            spacing = _numbers(measures, "PixelSpacing", 2, ds)
            slices.append(
                _Slice(
                    ds,
                    frame,
                    _numbers(placed, "ImagePositionPatient", 3, ds),
                    _numbers(oriented, "ImageOrientationPatient", 6, ds),
                    (float(spacing[0]), float(spacing[1])),
                    size,
                )
            )
        return slices
    position = _numbers(ds, "ImagePositionPatient", 3, ds)
    orientation = _numbers(ds, "ImageOrientationPatient", 6, ds)
    spacing = _numbers(ds, "PixelSpacing", 2, ds)
    positions = [position]
    if frames > 1:
        if "GridFrameOffsetVector" not in ds:
            raise VolumeGeometryError(
                f"multi-frame instance {ds.get('SOPInstanceUID', '?')} gives no per-frame "
                "positions (no functional groups, no Grid Frame Offset Vector); it cannot be "
                "placed in a volume"
            )
        offsets = _numbers(ds, "GridFrameOffsetVector", frames, ds)
        normal = np.cross(orientation[:3], orientation[3:])
        if offsets[0] != 0:  # absolute positions along the normal (PS3.3 C.8.8.3.2)
            offsets = offsets - float(position @ normal)
        positions = [position + offset * normal for offset in offsets]
    pixel_spacing = (float(spacing[0]), float(spacing[1]))
    return [
        _Slice(ds, frame, at, orientation, pixel_spacing, size)
        for frame, at in enumerate(positions, start=1)
    ]


def _check_same_stack(slices: Sequence[_Slice]) -> np.ndarray:
    """Raise unless all slices share orientation, size and pixel spacing; the normal."""
    first = slices[0]
    row, column = first.orientation[:3], first.orientation[3:]
    if not (
        abs(np.linalg.norm(row) - 1) < 1e-3
        and abs(np.linalg.norm(column) - 1) < 1e-3
        and abs(float(row @ column)) < 1e-3
    ):
        raise VolumeGeometryError(
            f"{first.name} has an Image Orientation (Patient) whose vectors are not "
            f"orthonormal ({first.orientation.tolist()}); fix the header"
        )
    if min(first.size) < 1 or min(first.pixel_spacing) <= 0:
        raise VolumeGeometryError(f"{first.name} has no rows, columns or pixel spacing")
    for other in slices[1:]:
        if not np.allclose(other.orientation, first.orientation, atol=1e-4):
            raise VolumeGeometryError(
                f"{other.name} is oriented {other.orientation.round(4).tolist()} but "
                f"{first.name} {first.orientation.round(4).tolist()}: the series mixes "
                "orientations (a localizer, or several stacks); MPR needs one stack"
            )
        if other.size != first.size:
            raise VolumeGeometryError(
                f"{other.name} is {other.size[0]}x{other.size[1]} but {first.name} "
                f"{first.size[0]}x{first.size[1]}: the series mixes image sizes"
            )
        if not np.allclose(other.pixel_spacing, first.pixel_spacing, rtol=1e-3):
            raise VolumeGeometryError(
                f"{other.name} has pixel spacing {other.pixel_spacing} mm but {first.name} "
                f"{first.pixel_spacing} mm: the series mixes pixel spacings"
            )
    normal: np.ndarray = np.cross(row, column)
    unit: np.ndarray = normal / np.linalg.norm(normal)
    return unit


def _check_spacing(slices: Sequence[_Slice], along: np.ndarray, tolerance: float) -> float:
    """Raise on duplicates, gaps or irregular spacing; the slice spacing in mm."""
    distances = np.diff(along)
    for at in map(int, np.nonzero(distances < tolerance)[0]):
        raise VolumeGeometryError(
            f"{slices[at].name} and {slices[at + 1].name} share position {along[at]:.2f} mm "
            "along the slice normal: the series holds duplicates or several stacks "
            "(echoes, phases); MPR needs one stack"
        )
    step = float(np.median(distances))
    for at in map(int, np.nonzero(np.abs(distances - step) > tolerance)[0]):
        gap = float(distances[at])
        missing = round(gap / step) - 1
        hint = (
            f"a gap, about {missing} slice(s) missing"
            if missing >= 1 and abs(gap - (missing + 1) * step) <= tolerance * (missing + 1)
            else "the spacing is irregular"
        )
        raise VolumeGeometryError(
            f"slice distance of {gap:.2f} mm between {slices[at].name} (at {along[at]:.2f} mm) and "
            f"{slices[at + 1].name} (at {along[at + 1]:.2f} mm) along the slice normal, "
            f"where the series spacing is {step:.2f} mm: {hint}; re-send the complete series"
        )
    return float(along[-1] - along[0]) / (len(along) - 1)


def assemble_volume(datasets: Sequence[Dataset], *, spacing_tolerance_mm: float = 0.05) -> Volume:
    """Sort a series' slices along their normal and stack them into one volume.

    Parameters
    ----------
    datasets
        Single-frame instances of one series in any order, or one (or more)
        multi-frame instances whose frames carry positions.
    spacing_tolerance_mm
        How far a slice may sit from the regular grid before the series is
        refused as irregular, and the distance under which two slices count as
        duplicates. Also bounds the in-plane drift between slices.

    Returns
    -------
    Volume
        float32 modality values, ``z`` ascending along the slice normal.

    Raises
    ------
    VolumeGeometryError
        Fewer than two slices, or not one regular stack; the message names the
        offending instances and, for gaps, the positions either side.
    UnsupportedTransferSyntaxError, RenderError
        A slice's pixel data cannot be decoded.
    """
    slices = [s for ds in datasets for s in _slices_of(ds)]
    if len(slices) < 2:
        raise VolumeGeometryError(
            f"a volume needs at least two slices, the series has {len(slices)}"
        )
    normal = _check_same_stack(slices)
    slices.sort(key=lambda s: float(s.position @ normal))
    along = np.array([float(s.position @ normal) for s in slices])
    step = _check_spacing(slices, along, spacing_tolerance_mm)
    first = slices[0]
    drift = max(
        float(np.linalg.norm((s.position - first.position) - (d - along[0]) * normal))
        for s, d in zip(slices, along, strict=True)
    )
    if drift > max(spacing_tolerance_mm, 0.5 * min(first.pixel_spacing)):
        raise VolumeGeometryError(
            f"slices drift {drift:.2f} mm sideways across the stack (gantry tilt or a "
            "sheared acquisition); MPR needs slices stacked along their normal"
        )
    voxels = np.empty((len(slices), *first.size), dtype=np.float32)
    for index, piece in enumerate(slices):
        stored = decode_frame(piece.ds, piece.frame)
        if stored.ndim != 2:
            raise VolumeGeometryError(
                f"{piece.name} is a colour image; only grayscale series form volumes"
            )
        voxels[index] = modality_values(piece.ds, stored, frame=piece.frame)
    window = file_window(first.ds, first.frame)
    return Volume(
        voxels=voxels,
        spacing_mm=(step, *first.pixel_spacing),
        origin_mm=_vector(first.position),
        row_direction=_vector(first.orientation[:3]),
        column_direction=_vector(first.orientation[3:]),
        slice_direction=_vector(normal),
        window=(window.center, window.width) if window is not None else None,
        sop_instance_uids=tuple(str(s.ds.get("SOPInstanceUID", "")) for s in slices),
        frame_numbers=tuple(s.frame for s in slices),
    )


def _vector(values: np.ndarray) -> Vector:
    return float(values[0]), float(values[1]), float(values[2])
