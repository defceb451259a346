"""A series' slices in reading order: by position along the slice normal.

The order is ``ImagePositionPatient · (row × column direction)`` ascending,
falling back to InstanceNumber (then SOP Instance UID) when an instance lacks
position or orientation. The geometry readers need for validation (rows,
columns, pixel spacing, thickness) is read once, when the task is created. A
multi-frame instance gives one slice per frame (``frame`` is 1-based; ``None``
for single-frame instances), placed by its per-frame functional groups.
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pydicom
from pydicom import Dataset

from node.annotate.records import TaskSlice
from node.dicom.pixels import frame_count, frame_item
from node.store import InstanceRecord, InstanceStore

__all__ = ["order_slices", "series_slices"]


def _floats(ds: Dataset | None, keyword: str, count: int) -> tuple[float, ...] | None:
    if ds is None:
        return None
    value = ds.get(keyword)
    if value is None:
        return None
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == count else None


def _float(ds: Dataset, keyword: str) -> float | None:
    value = ds.get(keyword)
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _along(
    position: tuple[float, ...] | None, orientation: tuple[float, ...] | None
) -> float | None:
    if position is None or orientation is None:
        return None
    normal = np.cross(np.asarray(orientation[:3]), np.asarray(orientation[3:]))
    return float(np.dot(np.asarray(position), normal))


def _slices(record: InstanceRecord, ds: Dataset) -> list[tuple[TaskSlice, float | None]]:
    """One slice per single-frame instance; one per frame of a multi-frame one."""
    rows = record.rows if record.rows is not None else int(ds.get("Rows", 0))
    columns = record.columns if record.columns is not None else int(ds.get("Columns", 0))
    thickness = _float(ds, "SliceThickness")
    frames = frame_count(ds)
    entries = []
    for frame in range(1, frames + 1):
        position = _floats(ds, "ImagePositionPatient", 3)
        orientation = _floats(ds, "ImageOrientationPatient", 6)
        spacing = _floats(ds, "PixelSpacing", 2)
        if frames > 1:
            placed = frame_item(ds, frame, "PlanePositionSequence")
            oriented = frame_item(ds, frame, "PlaneOrientationSequence")
            measures = frame_item(ds, frame, "PixelMeasuresSequence")
            position = _floats(placed, "ImagePositionPatient", 3) if placed else None
            orientation = _floats(oriented, "ImageOrientationPatient", 6) if oriented else None
            if measures is not None:
                spacing = _floats(measures, "PixelSpacing", 2)
                thickness = _float(measures, "SliceThickness")
        entries.append(
            (
                TaskSlice(
                    index=0,
                    sop_instance_uid=record.sop_instance_uid,
                    rows=rows,
                    columns=columns,
                    pixel_spacing=(spacing[0], spacing[1]) if spacing else None,
                    slice_thickness=thickness,
                    position=(position[0], position[1], position[2]) if position else None,
                    instance_number=record.instance_number,
                    frame=frame if frames > 1 else None,
                ),
                _along(position, orientation),
            )
        )
    return entries


def order_slices(entries: list[tuple[TaskSlice, float | None]]) -> list[TaskSlice]:
    """Sort slices along the normal when every slice has a position, else by number."""
    if entries and all(along is not None for _, along in entries):
        entries = sorted(entries, key=lambda e: (e[1], e[0].sop_instance_uid, e[0].frame or 0))
    else:
        entries = sorted(
            entries,
            key=lambda e: (
                e[0].instance_number if e[0].instance_number is not None else 1 << 31,
                e[0].sop_instance_uid,
                e[0].frame or 0,
            ),
        )
    ordered = []
    for index, (item, _) in enumerate(entries):
        ordered.append(
            TaskSlice(
                index=index,
                sop_instance_uid=item.sop_instance_uid,
                rows=item.rows,
                columns=item.columns,
                pixel_spacing=item.pixel_spacing,
                slice_thickness=item.slice_thickness,
                position=item.position,
                instance_number=item.instance_number,
                frame=item.frame,
            )
        )
    return ordered


def series_slices(
    store: InstanceStore, study_instance_uid: str, series_instance_uid: str
) -> list[TaskSlice]:
    """The released instances of a series as task slices, in reading order."""
    records = store.instances(
        study_instance_uid=study_instance_uid,
        series_instance_uid=series_instance_uid,
        include_quarantined=False,
    )
    entries = []
    for record in records:
        path = store.blobs.path(record.content_sha256)
        # From a file, pydicom stops reading at the pixel data: headers only.
        source = path if path is not None else BytesIO(store.read(record))
        ds = pydicom.dcmread(source, stop_before_pixels=True, force=True)
        entries.extend(_slices(record, ds))
    return order_slices(entries)
