"""Annotation payloads: one model per label kind, a union discriminated by ``kind``.

The JSON a reader's client sends (and a revision stores)::

    {"label": "nodule", "kind": "box", "confidence": 4, "comment": "",
     "cannot_assess": false,
     "geometry": {"slice": 12, "x0": 10.0, "y0": 20.0, "x1": 40.0, "y1": 60.0}}

Coordinates are image pixel coordinates: ``x`` is the column, ``y`` the row,
the origin is the top-left corner of the top-left pixel, floats allowed.
``slice`` is the 0-based index of the task's slices ordered along the normal.
Masks are COCO-style uncompressed RLE per slice in row-major order, the first
count being zeros. ``cannot_assess: true`` allows an empty geometry (``{}``).

These models check *shape* only (types, counts, ordering); whether a label
exists, fits the guideline or lies inside the image is decided on the node
against the guideline version and the series (``node.annotate.validation``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.errors import InvalidInputError

__all__ = [
    "AnnotationPayload",
    "AnnotationSchemaError",
    "BoxAnnotation",
    "BoxGeometry",
    "ClassificationAnnotation",
    "ClassificationGeometry",
    "KeypointAnnotation",
    "KeypointGeometry",
    "LengthAnnotation",
    "LengthGeometry",
    "MaskAnnotation",
    "MaskGeometry",
    "PolygonAnnotation",
    "PolygonGeometry",
    "Rle",
    "parse_annotation",
]

_Coordinate = Annotated[float, Field(allow_inf_nan=False)]
_SliceIndex = Annotated[int, Field(ge=0)]


class AnnotationSchemaError(InvalidInputError):
    """An annotation payload whose shape is wrong; ``problems`` lists each field."""

    def __init__(self, message: str, *, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rle(_Model):
    """COCO-style uncompressed run lengths of one binary slice (row-major, zeros first)."""

    size: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]]
    counts: tuple[Annotated[int, Field(ge=0)], ...]

    @model_validator(mode="after")
    def _covers_image(self) -> Rle:
        rows, columns = self.size
        total = sum(self.counts)
        if total != rows * columns:
            raise ValueError(
                f"RLE counts add up to {total} pixels but size {rows}x{columns} has "
                f"{rows * columns}; encode every pixel of the slice, zeros first"
            )
        return self

    @property
    def foreground(self) -> int:
        """Number of foreground pixels (the odd-indexed runs)."""
        return sum(self.counts[1::2])


class ClassificationGeometry(_Model):
    """A category code of the label, for the whole task."""

    value: str = Field(min_length=1, max_length=64)


class BoxGeometry(_Model):
    """An axis-aligned box on one slice, ``(x0, y0)`` top-left, ``(x1, y1)`` bottom-right."""

    slice: _SliceIndex
    x0: _Coordinate
    y0: _Coordinate
    x1: _Coordinate
    y1: _Coordinate

    @model_validator(mode="after")
    def _ordered(self) -> BoxGeometry:
        if not (self.x1 > self.x0 and self.y1 > self.y0):
            raise ValueError(
                f"box corners must satisfy x0 < x1 and y0 < y1; got ({self.x0}, {self.y0}) "
                f"to ({self.x1}, {self.y1})"
            )
        return self


class PolygonGeometry(_Model):
    """A closed polygon (≥ 3 vertices, implicitly closed) on one slice."""

    slice: _SliceIndex
    points: tuple[tuple[_Coordinate, _Coordinate], ...] = Field(min_length=3, max_length=10_000)


class MaskGeometry(_Model):
    """A brush mask: RLE per slice (keys are slice indices), with optional key slices.

    With ``interpolate`` the node fills the slices between consecutive
    ``key_slices`` by shape-based interpolation before storing.
    """

    slices: dict[str, Rle] = Field(min_length=1)
    key_slices: tuple[_SliceIndex, ...] = ()
    interpolate: bool = False

    @field_validator("slices")
    @classmethod
    def _integer_keys(cls, value: dict[str, Rle]) -> dict[str, Rle]:
        for key in value:
            if not key.isdigit():
                raise ValueError(f"mask slice keys are 0-based slice indices; got {key!r}")
        return value

    @model_validator(mode="after")
    def _keys_present(self) -> MaskGeometry:
        missing = [k for k in self.key_slices if str(k) not in self.slices]
        if missing:
            raise ValueError(f"key_slices {missing} have no RLE under 'slices'")
        if self.interpolate and len(self.key_slices) < 2:
            raise ValueError("interpolation needs at least two key_slices")
        return self

    def slice_indices(self) -> list[int]:
        """The slice indices that carry an RLE, ascending."""
        return sorted(int(k) for k in self.slices)


class KeypointGeometry(_Model):
    """One landmark on one slice."""

    slice: _SliceIndex
    x: _Coordinate
    y: _Coordinate


class LengthGeometry(_Model):
    """A measured segment on one slice; the node adds ``length_mm`` from the pixel spacing."""

    slice: _SliceIndex
    x0: _Coordinate
    y0: _Coordinate
    x1: _Coordinate
    y1: _Coordinate
    length_mm: float | None = None

    @model_validator(mode="after")
    def _distinct(self) -> LengthGeometry:
        if (self.x0, self.y0) == (self.x1, self.y1):
            raise ValueError("a length needs two distinct end points")
        return self


class _Annotation(_Model):
    label: str = Field(min_length=1, max_length=64)
    confidence: int | None = None
    comment: str = Field(default="", max_length=4000)
    cannot_assess: bool = False

    @model_validator(mode="before")
    @classmethod
    def _empty_geometry(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("geometry") in ({}, None):
            if data.get("cannot_assess"):
                return {**data, "geometry": None}
            raise ValueError(
                "geometry is required; send 'cannot_assess': true to record that the "
                "finding cannot be assessed"
            )
        return data


class ClassificationAnnotation(_Annotation):
    """A category chosen for the whole task."""

    kind: Literal["classification"]
    geometry: ClassificationGeometry | None


class BoxAnnotation(_Annotation):
    """A bounding box."""

    kind: Literal["box"]
    geometry: BoxGeometry | None


class PolygonAnnotation(_Annotation):
    """A polygon or contour."""

    kind: Literal["polygon"]
    geometry: PolygonGeometry | None


class MaskAnnotation(_Annotation):
    """A brush mask over one or more slices."""

    kind: Literal["mask"]
    geometry: MaskGeometry | None


class KeypointAnnotation(_Annotation):
    """A keypoint or landmark."""

    kind: Literal["keypoint"]
    geometry: KeypointGeometry | None


class LengthAnnotation(_Annotation):
    """A length measurement in mm."""

    kind: Literal["length"]
    geometry: LengthGeometry | None


AnnotationPayload = Annotated[
    ClassificationAnnotation
    | BoxAnnotation
    | PolygonAnnotation
    | MaskAnnotation
    | KeypointAnnotation
    | LengthAnnotation,
    Field(discriminator="kind"),
]

_ADAPTER: TypeAdapter[AnnotationPayload] = TypeAdapter(AnnotationPayload)


def parse_annotation(data: object) -> AnnotationPayload:
    """Validate a JSON-like payload into its kind's model.

    Raises
    ------
    AnnotationSchemaError
        Naming each field that is missing, of the wrong type, or out of shape.
    """
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        problems = tuple(
            f"{'.'.join(str(p) for p in e.get('loc', ())) or 'payload'}: "
            f"{str(e.get('msg', 'invalid')).removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise AnnotationSchemaError(
            f"the annotation is malformed: {'; '.join(problems)}", problems=problems
        ) from None
