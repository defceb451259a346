"""The public API of shared.formats is exactly this list."""

import shared.formats as formats
from shared.errors import HarmoniaError, InvalidInputError

EXPECTED = [
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


def test_export_list_is_exact_and_sorted() -> None:
    assert formats.__all__ == EXPECTED

    # ruff's RUF022 order: CONSTANTS, then Classes, then functions, each sorted
    def group(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert sorted(formats.__all__, key=group) == formats.__all__


def test_every_export_resolves() -> None:
    for name in formats.__all__:
        assert getattr(formats, name) is not None


def test_error_tree() -> None:
    assert issubclass(formats.FormatError, HarmoniaError)
    for err in (
        formats.FormatInputError,
        formats.RLEError,
        formats.PolygonError,
        formats.MaskShapeError,
        formats.EmptyMaskError,
        formats.SeriesGeometryError,
        formats.SegmentationReadError,
    ):
        assert issubclass(err, formats.FormatError)
        assert issubclass(err, InvalidInputError)
