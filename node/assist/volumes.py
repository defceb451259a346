"""A task's images as one array, in the task's own slice order.

The runner predicts on exactly the slices readers annotate: slice ``i`` of the
array is slice ``i`` of the task (its instance and frame), so a proposal's
slice indices are the task's. Pixel values are modality values (HU for CT).
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from typing import Any

import numpy as np
import numpy.typing as npt
import pydicom

from node.annotate.records import TaskSlice
from node.dicom.pixels import decode_frame, modality_values
from node.errors import RenderError
from node.store import InstanceStore

__all__ = ["task_volume"]


def task_volume(store: InstanceStore, slices: Sequence[TaskSlice]) -> npt.NDArray[np.float32]:
    """``(slices, rows, columns)`` float32 modality values of the task's slices.

    Raises
    ------
    NotFoundError
        A slice's instance is no longer stored.
    RenderError
        Slices of different sizes (a task the runner cannot stack), or a colour image.
    """
    if not slices:
        raise RenderError("the task has no slices to predict on")
    rows, columns = slices[0].rows, slices[0].columns
    if any((s.rows, s.columns) != (rows, columns) for s in slices):
        raise RenderError(
            "the task's slices differ in size; the runner predicts only on series whose "
            "slices share one matrix"
        )
    volume = np.empty((len(slices), rows, columns), dtype=np.float32)
    cache: dict[str, Any] = {}
    for position, item in enumerate(slices):
        ds = cache.get(item.sop_instance_uid)
        if ds is None:
            record = store.instance(item.sop_instance_uid, include_quarantined=False)
            ds = pydicom.dcmread(BytesIO(store.read(record)))
            cache.clear()  # multi-frame instances repeat; single frames never come back
            cache[item.sop_instance_uid] = ds
        frame = item.frame or 1
        stored = decode_frame(ds, frame)
        if stored.ndim != 2:
            raise RenderError(
                f"instance {item.sop_instance_uid} is a colour image; the runner predicts on "
                "grayscale series only"
            )
        volume[position] = modality_values(ds, stored, frame=frame)
    return volume
