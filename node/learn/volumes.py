"""A task's pixels as a model input: read from the de-identified store, windowed, resampled.

:func:`read_volume` decodes every slice of a task (the order the task lists
them, along the slice normal) to modality values (HU for CT) through the
node's own pixel layer (:mod:`node.dicom.pixels`, pydicom decoders).
:func:`prepare_volume` maps values to the plan's intensity scale (a window
to [0, 1], or per-slice standardisation) and resamples each slice to
``size × size``; :func:`stack_slices` builds 2.5D inputs (a slice and its
``k`` neighbours each side as channels, repeating edge slices). Masks are
resampled with :func:`resize_masks` (nearest neighbour).
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

import numpy as np
import numpy.typing as npt
import pydicom
from scipy import ndimage

from node.annotate.records import TaskSlice
from node.dicom.pixels import decode_frame, modality_values
from node.errors import RenderError
from node.store import InstanceStore
from shared.schemas.training import InputSpec

__all__ = ["prepare_volume", "read_volume", "resize_masks", "stack_slices"]

FloatArray = npt.NDArray[np.float32]


def read_volume(store: InstanceStore, slices: Sequence[TaskSlice]) -> FloatArray:
    """Modality values of the task's slices, ``(slices, rows, columns)`` float32.

    Raises
    ------
    NotFoundError
        A slice's instance is no longer stored (or is quarantined).
    RenderError
        Pixels that cannot be decoded, colour images, or slices of different sizes.
    """
    planes: list[FloatArray] = []
    cache: dict[str, pydicom.Dataset] = {}
    for item in slices:
        ds = cache.get(item.sop_instance_uid)
        if ds is None:
            record = store.instance(item.sop_instance_uid, include_quarantined=False)
            ds = pydicom.dcmread(BytesIO(store.read(record)))
            cache = {item.sop_instance_uid: ds}  # keep one multi-frame instance at a time
        frame = item.frame or 1
        values = modality_values(ds, decode_frame(ds, frame), frame=frame)
        if values.ndim != 2:
            raise RenderError(
                f"instance {item.sop_instance_uid} is a colour image; training reads "
                "grayscale series only"
            )
        if planes and values.shape != planes[0].shape:
            raise RenderError(
                f"slice {item.index} is {values.shape}, the series' first is "
                f"{planes[0].shape}; training needs one matrix size per series"
            )
        planes.append(values)
    return np.stack(planes).astype(np.float32, copy=False)


def _zoom(plane: npt.NDArray[np.generic], size: int, order: int) -> npt.NDArray[np.generic]:
    rows, columns = plane.shape
    if (rows, columns) == (size, size):
        return plane
    return np.asarray(
        ndimage.zoom(
            plane, (size / rows, size / columns), order=order, mode="nearest", grid_mode=True
        )
    )


def prepare_volume(volume: npt.ArrayLike, spec: InputSpec) -> FloatArray:
    """Intensity-scaled, resampled slices ``(slices, size, size)`` float32."""
    values = np.asarray(volume, dtype=np.float32)
    if spec.window is not None:
        centre, width = spec.window
        scaled = np.clip((values - (centre - width / 2.0)) / width, 0.0, 1.0)
    else:
        mean = values.mean(axis=(1, 2), keepdims=True)
        std = values.std(axis=(1, 2), keepdims=True)
        scaled = (values - mean) / np.maximum(std, 1e-6)
    return np.stack([_zoom(p, spec.size, 1) for p in scaled]).astype(np.float32, copy=False)


def resize_masks(masks: npt.ArrayLike, size: int) -> npt.NDArray[np.uint8]:
    """Masks ``(..., rows, columns)`` resampled to ``size × size`` (nearest neighbour)."""
    array = np.asarray(masks, dtype=np.uint8)
    flat = array.reshape(-1, *array.shape[-2:])
    out = np.stack([_zoom(p, size, 0) for p in flat]) if len(flat) else flat
    return out.reshape(*array.shape[:-2], size, size).astype(np.uint8, copy=False)


def stack_slices(prepared: FloatArray, index: int, context: int) -> FloatArray:
    """Slice ``index`` with ``context`` neighbours each side as channels (edges repeated)."""
    last = prepared.shape[0] - 1
    picks = [min(max(index + offset, 0), last) for offset in range(-context, context + 1)]
    return prepared[picks]
