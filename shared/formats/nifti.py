"""NIfTI-1 label volumes aligned with their source DICOM series.

The mask volume ``(slices, rows, columns)`` is stored as NIfTI array
``(columns, rows, slices)`` (i = column, j = row, k = slice) with the series'
voxel → RAS affine as both qform and sform (code 1, scanner anatomical), so
voxel ``(0, 0, 0)`` maps to the first slice's ImagePositionPatient with x and y
negated (LPS → RAS). Label values and names go in the header's description and
a JSON sidecar written next to the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from shared.formats.errors import MaskShapeError
from shared.formats.geometry import SeriesGeometry

__all__ = ["label_volume", "nifti_image", "write_nifti"]


def label_volume(
    masks: Mapping[str, npt.ArrayLike], shape: tuple[int, int, int]
) -> tuple[npt.NDArray[np.uint16], dict[int, str]]:
    """Merge per-label boolean volumes into one label map.

    Labels get values 1, 2, ... in the order given; where masks overlap the
    later label wins.

    Returns
    -------
    tuple
        The ``uint16`` label map of ``shape`` and value → label name.

    Raises
    ------
    MaskShapeError
        When a mask's shape is not ``shape``.
    """
    volume = np.zeros(shape, dtype=np.uint16)
    names: dict[int, str] = {}
    for value, (name, mask) in enumerate(masks.items(), start=1):
        array = np.asarray(mask) != 0
        if array.shape != shape:
            raise MaskShapeError(
                f"mask of label {name!r} has shape {array.shape}; the series needs {shape} "
                "(slices, rows, columns)",
                expected=shape,
                actual=tuple(array.shape),
            )
        volume[array] = value
        names[value] = name
    return volume, names


def nifti_image(
    volume: npt.ArrayLike,
    geometry: SeriesGeometry,
    *,
    description: str = "",
) -> nib.Nifti1Image:
    """Wrap a ``(slices, rows, columns)`` volume in a NIfTI-1 image with the series' affine.

    Raises
    ------
    MaskShapeError
        When the volume's shape is not the series' ``(slices, rows, columns)``.
    """
    array = np.asarray(volume)
    if array.shape != geometry.shape:
        raise MaskShapeError(
            f"volume shape {array.shape} does not match the series {geometry.shape} "
            "(slices, rows, columns)",
            expected=geometry.shape,
            actual=tuple(array.shape),
        )
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    data = np.ascontiguousarray(array.transpose(2, 1, 0))
    affine = geometry.affine_ras()
    image = nib.Nifti1Image(data, affine)  # type: ignore[no-untyped-call]
    header = image.header
    header.set_qform(affine, code=1)  # type: ignore[no-untyped-call]
    header.set_sform(affine, code=1)  # type: ignore[no-untyped-call]
    header.set_xyzt_units(xyz="mm")  # type: ignore[no-untyped-call]
    header["descrip"] = description.encode("ascii", "replace")[:79]
    return image


def write_nifti(
    path: str | Path,
    masks: Mapping[str, npt.ArrayLike] | npt.NDArray[np.integer[Any]],
    source_datasets: Sequence[Dataset],
    *,
    frames: Sequence[int | None] | None = None,
    label_names: Mapping[int, str] | None = None,
) -> Path:
    """Write masks of one series as a NIfTI-1 label map, plus a JSON sidecar.

    Parameters
    ----------
    path
        Output file, ``.nii`` or ``.nii.gz``.
    masks
        Label name → boolean volume ``(slices, rows, columns)`` in the order of
        ``source_datasets``; or a ready integer label map of that shape.
    source_datasets
        The series' instances, ordered as the masks' slice axis (headers suffice).
    frames
        Per slice, the 1-based frame when the slice is a frame of a multi-frame
        instance (``source_datasets`` then repeats that instance), else ``None``.
    label_names
        For a label map: value → label name (default ``"label <value>"``).

    Returns
    -------
    pathlib.Path
        The written file; the sidecar is the same name with ``.json`` in place
        of ``.nii``/``.nii.gz`` and holds ``{"labels": {"1": name, ...}}``.

    Raises
    ------
    SeriesGeometryError
        When the series has no usable plane geometry.
    MaskShapeError
        When a mask does not match the series.
    """
    geometry = SeriesGeometry.from_datasets(source_datasets, frames)
    if isinstance(masks, Mapping):
        volume, names = label_volume(masks, geometry.shape)
    else:
        volume = np.asarray(masks)
        if volume.dtype.kind not in "iub":
            raise MaskShapeError(
                f"a label map must hold integers; got {volume.dtype}: pass label → mask instead",
                actual=tuple(volume.shape),
            )
        given = label_names or {}
        names = {int(v): given.get(int(v), f"label {int(v)}") for v in np.unique(volume) if v != 0}
    description = "; ".join(f"{value}={name}" for value, name in names.items())
    image = nifti_image(volume, geometry, description=description)
    target = Path(path)
    nib.save(image, str(target))
    sidecar = _sidecar_path(target)
    series_uid = str(source_datasets[0].get("SeriesInstanceUID", ""))
    sidecar.write_text(
        json.dumps(
            {
                "labels": {str(value): name for value, name in names.items()},
                "series_instance_uid": series_uid,
                "sop_instance_uids": [str(ds.get("SOPInstanceUID", "")) for ds in source_datasets],
                "frames": list(frames) if frames is not None else [None] * len(source_datasets),
                "axes": "i=column, j=row, k=slice (slice order as in sop_instance_uids)",
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return target


def _sidecar_path(path: Path) -> Path:
    name = path.name
    for suffix in (".nii.gz", ".nii"):
        if name.endswith(suffix):
            return path.with_name(name[: -len(suffix)] + ".json")
    return path.with_name(name + ".json")
