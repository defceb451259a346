"""Errors the format converters raise.

::

    HarmoniaError
    └── FormatError                     anything shared.formats raises
        ├── FormatInputError            inputs break a documented rule (also InvalidInputError)
        │   ├── RLEError                a run-length encoding that does not describe its mask
        │   ├── PolygonError            too few points, non-finite or self-intersecting
        │   ├── MaskShapeError          masks that do not match each other or the series
        │   ├── EmptyMaskError          nothing to write: every mask is empty
        │   └── SeriesGeometryError     a source series without usable plane geometry
        └── SegmentationReadError       a DICOM SEG that cannot be turned back into masks
                                        (also InvalidInputError)

Every error names the rule that was broken and what to do about it.
"""

from __future__ import annotations

from shared.errors import HarmoniaError, InvalidInputError

__all__ = [
    "EmptyMaskError",
    "FormatError",
    "FormatInputError",
    "MaskShapeError",
    "PolygonError",
    "RLEError",
    "SegmentationReadError",
    "SeriesGeometryError",
]


class FormatError(HarmoniaError):
    """Root of every error the format converters raise."""


class FormatInputError(FormatError, InvalidInputError):
    """Data handed to a converter breaks a documented rule; the message names it."""


class RLEError(FormatInputError):
    """A run-length encoding is malformed or its counts do not add up to its size."""


class PolygonError(FormatInputError):
    """A polygon has too few points, non-finite coordinates or crosses itself."""


class MaskShapeError(FormatInputError):
    """Masks that must line up (with each other or with the source series) do not.

    Parameters
    ----------
    message
        What is wrong and what to do.
    expected, actual
        The shapes involved, kept for the caller.
    """

    def __init__(
        self,
        message: str,
        *,
        expected: tuple[int, ...] | None = None,
        actual: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class EmptyMaskError(FormatInputError):
    """Every mask handed to a writer is empty, so there is no segment to write."""


class SeriesGeometryError(FormatInputError):
    """The source series lacks plane geometry (position, orientation, spacing) or mixes it."""


class SegmentationReadError(FormatError, InvalidInputError):
    """A DICOM Segmentation cannot be read back into per-segment masks.

    Parameters
    ----------
    message
        What is wrong and what to do.
    sop_instance_uid
        The SEG instance, when it is known.
    """

    def __init__(self, message: str, *, sop_instance_uid: str | None = None) -> None:
        super().__init__(message)
        self.sop_instance_uid = sop_instance_uid
