"""Format-neutral annotation findings handed to the SR and COCO writers.

A :class:`Finding` is one annotation of one reader (or of the consensus) on one
slice (or on the whole series, for classifications) in pixel coordinates
(x = column, y = row, origin at the top-left corner of the top-left pixel).
Masks travel to the SEG and NIfTI writers as volumes; for COCO a mask finding
carries its slice's 2D mask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from shared.formats.errors import FormatInputError

__all__ = ["Finding", "FindingKind"]


class FindingKind(StrEnum):
    """The annotation kinds of the contract."""

    BOX = "box"
    CLASSIFICATION = "classification"
    KEYPOINT = "keypoint"
    LENGTH = "length"
    MASK = "mask"
    POLYGON = "polygon"


_POINTS = {
    FindingKind.BOX: (2, 2),
    FindingKind.CLASSIFICATION: (0, 0),
    FindingKind.KEYPOINT: (1, 1),
    FindingKind.LENGTH: (2, 2),
    FindingKind.MASK: (0, 0),
    FindingKind.POLYGON: (3, None),
}


@dataclass(frozen=True, eq=False)
class Finding:
    """One annotation, checked as it is built.

    Parameters
    ----------
    label
        Guideline label name.
    kind
        A :class:`FindingKind` (or its value).
    slice
        0-based slice index into the series' slice order; ``None`` for a
        whole-series classification.
    points
        ``(x, y)`` pairs: box = two opposite corners, polygon = 3 or more
        vertices, keypoint = one point, length = its two ends.
    value
        A classification's category.
    length_mm
        A length's value in mm (computed from the pixel spacing when absent).
    mask
        For ``mask`` findings: the slice's 2D boolean mask.
    reader
        Who made it: a user name or ``"consensus"``.
    confidence
        On the guideline's scale, when given.

    Raises
    ------
    FormatInputError
        When the points do not fit the kind, a classification has no value or a
        mask finding has no 2D mask.
    """

    label: str
    kind: FindingKind
    slice: int | None = None
    points: tuple[tuple[float, float], ...] = ()
    value: str | None = None
    length_mm: float | None = None
    mask: npt.NDArray[np.bool_] | None = field(default=None, repr=False)
    reader: str = ""
    confidence: int | None = None

    def __post_init__(self) -> None:
        kind = FindingKind(self.kind)
        object.__setattr__(self, "kind", kind)
        points = tuple((float(x), float(y)) for x, y in self.points)
        object.__setattr__(self, "points", points)
        low, high = _POINTS[kind]
        if len(points) < low or (high is not None and len(points) > high):
            wanted = f"{low}" if low == high else f"at least {low}"
            raise FormatInputError(
                f"a {kind.value} finding of label {self.label!r} needs {wanted} (x, y) "
                f"points; got {len(points)}"
            )
        if kind is FindingKind.CLASSIFICATION and not self.value:
            raise FormatInputError(f"classification of label {self.label!r} has no value")
        if kind is not FindingKind.CLASSIFICATION and self.slice is None:
            raise FormatInputError(f"a {kind.value} finding of label {self.label!r} needs a slice")
        if kind is FindingKind.MASK and (self.mask is None or np.asarray(self.mask).ndim != 2):
            raise FormatInputError(
                f"a mask finding of label {self.label!r} needs its slice's 2D mask"
            )
