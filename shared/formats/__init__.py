"""Annotation formats: pure converters, no database and no web framework.

- ``rle``: the annotation payload's run-length encoding of one mask slice;
- ``polygon``: polygon area, simplicity, rasterisation and tracing;
- ``interpolate``: shape-based interpolation between key slices;
- ``geometry``: where a series' voxels lie (affines for NIfTI);
- ``seg``: DICOM Segmentation write and read (highdicom);
- ``sr``: DICOM SR TID 1500 measurement reports (highdicom);
- ``nifti``: NIfTI-1 label maps (nibabel);
- ``coco``: COCO JSON;
- ``codes``, ``findings``, ``uids``: the coded concepts, the format-neutral
  findings and the deterministic UIDs the writers share.

Coordinates are image pixel coordinates: x = column, y = row, origin at the
top-left corner of the top-left pixel.
"""

from shared.formats.coco import CocoAnnotation, CocoImage, write_coco
from shared.formats.codes import HARMONIA_SCHEME, LabelCoding, label_coding, value_code
from shared.formats.errors import (
    EmptyMaskError,
    FormatError,
    FormatInputError,
    MaskShapeError,
    PolygonError,
    RLEError,
    SegmentationReadError,
    SeriesGeometryError,
)
from shared.formats.findings import Finding, FindingKind
from shared.formats.geometry import SeriesGeometry
from shared.formats.interpolate import interpolate_key_slices, signed_distance
from shared.formats.nifti import label_volume, nifti_image, write_nifti
from shared.formats.polygon import (
    mask_to_polygons,
    polygon_area,
    polygon_is_simple,
    polygon_to_mask,
    validate_polygon,
)
from shared.formats.rle import RLE, rle_area, rle_decode, rle_encode, validate_rle
from shared.formats.seg import (
    SEGMENTATION_STORAGE,
    ReadSegment,
    SegmentationContent,
    read_segmentation,
    write_segmentation,
)
from shared.formats.sr import COMPREHENSIVE_3D_SR_STORAGE, ObserverKind, write_measurement_report
from shared.formats.uids import derived_uid

__all__ = [
    "COMPREHENSIVE_3D_SR_STORAGE",
    "HARMONIA_SCHEME",
    "RLE",
    "SEGMENTATION_STORAGE",
    "CocoAnnotation",
    "CocoImage",
    "EmptyMaskError",
    "Finding",
    "FindingKind",
    "FormatError",
    "FormatInputError",
    "LabelCoding",
    "MaskShapeError",
    "ObserverKind",
    "PolygonError",
    "RLEError",
    "ReadSegment",
    "SegmentationContent",
    "SegmentationReadError",
    "SeriesGeometry",
    "SeriesGeometryError",
    "derived_uid",
    "interpolate_key_slices",
    "label_coding",
    "label_volume",
    "mask_to_polygons",
    "nifti_image",
    "polygon_area",
    "polygon_is_simple",
    "polygon_to_mask",
    "read_segmentation",
    "rle_area",
    "rle_decode",
    "rle_encode",
    "signed_distance",
    "validate_polygon",
    "validate_rle",
    "value_code",
    "write_coco",
    "write_measurement_report",
    "write_nifti",
    "write_segmentation",
]
