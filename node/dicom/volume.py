"""A series assembled into one volume in patient space, and its MPR reslices."""

from __future__ import annotations

import enum
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from pydicom import Dataset

from node.dicom.pixels import decode_frame, modality_values
from node.dicom.windowing import file_window
from node.errors import NotFoundError, VolumeGeometryError

__all__ = ["Plane", "Volume", "VolumeCache", "assemble_volume", "reslice"]


class Plane(enum.StrEnum):
    """MPR planes, relative to the acquisition (axial = the acquired slices)."""

    AXIAL = "axial"
    CORONAL = "coronal"
    SAGITTAL = "sagittal"


@dataclass(frozen=True, eq=False)
class Volume:
    """Modality values on a regular grid, ``voxels[z, y, x]``, z ascending along the normal."""

    voxels: np.ndarray
    spacing_mm: tuple[float, float, float]
    origin_mm: tuple[float, float, float]
    row_direction: tuple[float, float, float]
    column_direction: tuple[float, float, float]
    slice_direction: tuple[float, float, float]
    window: tuple[float, float] | None
    sop_instance_uids: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(slices, rows, columns)``."""
        z, y, x = self.voxels.shape
        return int(z), int(y), int(x)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel spacing ``(z, y, x)`` in millimetres."""
        return self.spacing_mm

    @property
    def nbytes(self) -> int:
        """Memory the voxels hold."""
        return int(self.voxels.nbytes)

    def slice_count(self, plane: Plane) -> int:
        """How many reslices ``plane`` has."""
        z, y, x = self.shape
        return {Plane.AXIAL: z, Plane.CORONAL: y, Plane.SAGITTAL: x}[plane]


def _vector(ds: Dataset, keyword: str, length: int) -> np.ndarray:
    value = ds.get(keyword)
    if value is None or len(value) != length:
        raise VolumeGeometryError(
            f"instance {ds.get('SOPInstanceUID', '?')} lacks a valid {keyword}; "
            "MPR needs the Image Plane module"
        )
    return np.asarray([float(v) for v in value], dtype=np.float64)


def assemble_volume(datasets: Sequence[Dataset], *, spacing_tolerance_mm: float = 0.05) -> Volume:
    """Sort single-frame slices along their normal and stack them into one volume.

    Raises :class:`VolumeGeometryError` (naming the problem) for mixed
    orientations or sizes, duplicate positions, tilted stacks or gaps.
    """
    if len(datasets) < 2:
        raise VolumeGeometryError("a volume needs at least two slices")
    orientation = _vector(datasets[0], "ImageOrientationPatient", 6)
    row, column = orientation[:3], orientation[3:]
    normal = np.cross(row, column)
    size = (int(datasets[0].Rows), int(datasets[0].Columns))
    pixel_spacing = _vector(datasets[0], "PixelSpacing", 2)
    placed = []
    for ds in datasets:
        if not np.allclose(_vector(ds, "ImageOrientationPatient", 6), orientation, atol=1e-4):
            raise VolumeGeometryError("the series mixes slice orientations; MPR needs one stack")
        if (int(ds.Rows), int(ds.Columns)) != size:
            raise VolumeGeometryError("the series mixes image sizes; MPR needs one stack")
        if int(ds.get("NumberOfFrames", 1) or 1) != 1:
            raise VolumeGeometryError("multi-frame instances are not assembled into volumes")
        position = _vector(ds, "ImagePositionPatient", 3)
        placed.append((float(position @ normal), position, ds))
    placed.sort(key=lambda item: item[0])
    distances = np.diff([d for d, _, _ in placed])
    if np.any(distances < spacing_tolerance_mm):
        raise VolumeGeometryError("two slices share a position; the series holds duplicates")
    step = float(np.median(distances))
    gaps = np.nonzero(np.abs(distances - step) > max(spacing_tolerance_mm, 0.01 * step))[0]
    if gaps.size:
        at = int(gaps[0])
        raise VolumeGeometryError(
            f"slice spacing is irregular: {distances[at]:.2f} mm after slice {at + 1} where "
            f"{step:.2f} mm is expected; slices may be missing"
        )
    offsets = [p - placed[0][1] for _, p, _ in placed]
    in_plane = [o - (o @ normal) * normal for o in offsets]
    if max(float(np.linalg.norm(v)) for v in in_plane) > max(spacing_tolerance_mm, 0.5):
        raise VolumeGeometryError("slices are shifted in-plane (tilted gantry); not one stack")
    voxels = np.empty((len(placed), *size), dtype=np.float32)
    for index, (_, _, ds) in enumerate(placed):
        frame = decode_frame(ds)
        if frame.ndim != 2:
            raise VolumeGeometryError("colour images are not assembled into volumes")
        voxels[index] = modality_values(ds, frame)
    first = placed[0][2]
    window = file_window(first)
    return Volume(
        voxels=voxels,
        spacing_mm=(step, float(pixel_spacing[0]), float(pixel_spacing[1])),
        origin_mm=tuple(float(v) for v in placed[0][1]),  # type: ignore[arg-type]
        row_direction=tuple(float(v) for v in row),  # type: ignore[arg-type]
        column_direction=tuple(float(v) for v in column),  # type: ignore[arg-type]
        slice_direction=tuple(float(v) for v in normal),  # type: ignore[arg-type]
        window=(window.center, window.width) if window is not None else None,
        sop_instance_uids=tuple(str(ds.SOPInstanceUID) for _, _, ds in placed),
    )


def reslice(volume: Volume, plane: Plane, index: int) -> tuple[np.ndarray, tuple[float, float]]:
    """One plane (0-based ``index``) and its pixel spacing ``(row, column)`` in mm."""
    count = volume.slice_count(plane)
    if not 0 <= index < count:
        raise NotFoundError(f"{plane} slice {index} does not exist; valid: 0..{count - 1}")
    dz, dy, dx = volume.spacing_mm
    if plane is Plane.AXIAL:
        return volume.voxels[index], (dy, dx)
    if plane is Plane.CORONAL:
        return volume.voxels[:, index, :], (dz, dx)
    return volume.voxels[:, :, index], (dz, dy)


class VolumeCache:
    """A thread-safe LRU of assembled volumes, bounded by the bytes they hold."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._volumes: OrderedDict[Hashable, Volume] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Volume | None:
        """The cached volume for ``key``, refreshed as most recently used."""
        with self._lock:
            volume = self._volumes.get(key)
            if volume is not None:
                self._volumes.move_to_end(key)
            return volume

    def put(self, key: Hashable, volume: Volume) -> None:
        """Cache ``volume``, evicting the least recently used beyond ``max_bytes``."""
        with self._lock:
            self._volumes[key] = volume
            self._volumes.move_to_end(key)
            while len(self._volumes) > 1 and self.total_bytes() > self.max_bytes:
                self._volumes.popitem(last=False)

    def total_bytes(self) -> int:
        """Bytes held by cached voxels."""
        return sum(v.nbytes for v in self._volumes.values())

    def __len__(self) -> int:
        return len(self._volumes)
