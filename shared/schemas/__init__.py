"""Shared pydantic schemas: annotation guidelines and annotation payloads.

:class:`Guideline` describes one guideline version (labels, categories, rules,
confidence scale, readers per task, thresholds); :data:`AnnotationPayload` is
the discriminated union of the six annotation kinds a reader saves.
"""

from shared.schemas.annotation import (
    AnnotationPayload,
    AnnotationSchemaError,
    BoxAnnotation,
    BoxGeometry,
    ClassificationAnnotation,
    ClassificationGeometry,
    KeypointAnnotation,
    KeypointGeometry,
    LengthAnnotation,
    LengthGeometry,
    MaskAnnotation,
    MaskGeometry,
    PolygonAnnotation,
    PolygonGeometry,
    Rle,
    parse_annotation,
)
from shared.schemas.guideline import (
    Category,
    ConfidenceScale,
    Guideline,
    GuidelineError,
    GuidelineFormatError,
    GuidelineSchemaError,
    Label,
    LabelKind,
    Scale,
    load_guideline,
)

__all__ = [
    "AnnotationPayload",
    "AnnotationSchemaError",
    "BoxAnnotation",
    "BoxGeometry",
    "Category",
    "ClassificationAnnotation",
    "ClassificationGeometry",
    "ConfidenceScale",
    "Guideline",
    "GuidelineError",
    "GuidelineFormatError",
    "GuidelineSchemaError",
    "KeypointAnnotation",
    "KeypointGeometry",
    "Label",
    "LabelKind",
    "LengthAnnotation",
    "LengthGeometry",
    "MaskAnnotation",
    "MaskGeometry",
    "PolygonAnnotation",
    "PolygonGeometry",
    "Rle",
    "Scale",
    "load_guideline",
    "parse_annotation",
]
