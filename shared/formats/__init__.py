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

The exports are imported on first use: ``seg`` and ``sr`` load highdicom, ``nifti``
nibabel, ``polygon`` and ``interpolate`` SciPy, and a process that only needs the run-length
code (a Flower ClientApp answering a statistics message) must not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.lazy_exports import lazy_exports

if TYPE_CHECKING:
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
    from shared.formats.sr import (
        COMPREHENSIVE_3D_SR_STORAGE,
        ObserverKind,
        write_measurement_report,
    )
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

_MODULE_OF = {
    "COMPREHENSIVE_3D_SR_STORAGE": "shared.formats.sr",
    "HARMONIA_SCHEME": "shared.formats.codes",
    "RLE": "shared.formats.rle",
    "SEGMENTATION_STORAGE": "shared.formats.seg",
    "CocoAnnotation": "shared.formats.coco",
    "CocoImage": "shared.formats.coco",
    "EmptyMaskError": "shared.formats.errors",
    "Finding": "shared.formats.findings",
    "FindingKind": "shared.formats.findings",
    "FormatError": "shared.formats.errors",
    "FormatInputError": "shared.formats.errors",
    "LabelCoding": "shared.formats.codes",
    "MaskShapeError": "shared.formats.errors",
    "ObserverKind": "shared.formats.sr",
    "PolygonError": "shared.formats.errors",
    "RLEError": "shared.formats.errors",
    "ReadSegment": "shared.formats.seg",
    "SegmentationContent": "shared.formats.seg",
    "SegmentationReadError": "shared.formats.errors",
    "SeriesGeometry": "shared.formats.geometry",
    "SeriesGeometryError": "shared.formats.errors",
    "derived_uid": "shared.formats.uids",
    "interpolate_key_slices": "shared.formats.interpolate",
    "label_coding": "shared.formats.codes",
    "label_volume": "shared.formats.nifti",
    "mask_to_polygons": "shared.formats.polygon",
    "nifti_image": "shared.formats.nifti",
    "polygon_area": "shared.formats.polygon",
    "polygon_is_simple": "shared.formats.polygon",
    "polygon_to_mask": "shared.formats.polygon",
    "read_segmentation": "shared.formats.seg",
    "rle_area": "shared.formats.rle",
    "rle_decode": "shared.formats.rle",
    "rle_encode": "shared.formats.rle",
    "signed_distance": "shared.formats.interpolate",
    "validate_polygon": "shared.formats.polygon",
    "validate_rle": "shared.formats.rle",
    "value_code": "shared.formats.codes",
    "write_coco": "shared.formats.coco",
    "write_measurement_report": "shared.formats.sr",
    "write_nifti": "shared.formats.nifti",
    "write_segmentation": "shared.formats.seg",
}


__getattr__ = lazy_exports(__name__, _MODULE_OF, globals())
