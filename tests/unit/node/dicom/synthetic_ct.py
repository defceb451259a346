"""Synthetic CT slices and enhanced multi-frame instances built with pydicom, for render tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
SERIES_UID = "2.25.1000"


def ct_slice(
    stored: np.ndarray,
    *,
    position: Sequence[float] = (0.0, 0.0, 0.0),
    orientation: Sequence[float] = AXIAL,
    pixel_spacing: tuple[float, float] = (0.7, 0.7),
    uid: str = "2.25.1",
    slope: float = 1.0,
    intercept: float = -1024.0,
    window: tuple[float, float] | None = (40.0, 400.0),
    photometric: str = "MONOCHROME2",
) -> Dataset:
    """A single-frame CT instance holding ``stored`` (uint16 or int16) values."""
    stored = np.ascontiguousarray(stored)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = UID(uid)
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = uid
    ds.SeriesInstanceUID = SERIES_UID
    ds.Modality = "CT"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if stored.dtype.kind == "i" else 0
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    ds.ImagePositionPatient = [float(v) for v in position]
    ds.ImageOrientationPatient = [float(v) for v in orientation]
    ds.PixelSpacing = [float(v) for v in pixel_spacing]
    ds.PixelData = stored.astype(stored.dtype.newbyteorder("<")).tobytes()
    return ds


def ct_series(
    volume: np.ndarray,
    *,
    spacing: float = 2.5,
    orientation: Sequence[float] = AXIAL,
    origin: Sequence[float] = (-100.0, -100.0, -50.0),
    pixel_spacing: tuple[float, float] = (0.7, 0.7),
    intercept: float = -1024.0,
) -> list[Dataset]:
    """One instance per slice of ``volume[z, y, x]`` (stored values), stacked along the normal."""
    row, column = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    normal = np.cross(row, column)
    return [
        ct_slice(
            volume[k],
            position=tuple(np.asarray(origin) + k * spacing * normal),
            orientation=orientation,
            pixel_spacing=pixel_spacing,
            uid=f"2.25.{1000 + k}",
            intercept=intercept,
        )
        for k in range(volume.shape[0])
    ]


def _item(**values: object) -> Dataset:
    item = Dataset()
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def enhanced_ct(
    volume: np.ndarray,
    *,
    spacing: float = 2.0,
    pixel_spacing: tuple[float, float] = (0.5, 0.5),
    slopes: Sequence[float] | None = None,
) -> Dataset:
    """One enhanced multi-frame CT instance, frames listed from the top slice down."""
    frames = volume.shape[0]
    ds = ct_slice(volume[0], uid="2.25.5000", window=None)
    for keyword in (
        "ImagePositionPatient",
        "ImageOrientationPatient",
        "PixelSpacing",
        "RescaleSlope",
        "RescaleIntercept",
    ):
        delattr(ds, keyword)
    ds.NumberOfFrames = frames
    order = list(range(frames))[::-1]
    ds.PixelData = b"".join(volume[k].astype("<u2").tobytes() for k in order)
    shared = _item(
        PlaneOrientationSequence=DicomSequence([_item(ImageOrientationPatient=list(AXIAL))]),
        PixelMeasuresSequence=DicomSequence(
            [_item(PixelSpacing=list(pixel_spacing), SliceThickness=spacing)]
        ),
        FrameVOILUTSequence=DicomSequence([_item(WindowCenter=50, WindowWidth=350)]),
    )
    per_frame = []
    for k in order:
        slope = 1.0 if slopes is None else slopes[k]
        per_frame.append(
            _item(
                PlanePositionSequence=DicomSequence(
                    [_item(ImagePositionPatient=[0.0, 0.0, k * spacing])]
                ),
                PixelValueTransformationSequence=DicomSequence(
                    [_item(RescaleSlope=slope, RescaleIntercept=-1024.0)]
                ),
            )
        )
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)
    return ds
