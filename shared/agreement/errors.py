"""Errors the agreement engine raises.

::

    HarmoniaError
    └── AgreementError                  anything the agreement engine raises
        ├── AgreementInputError         inputs break a documented rule (also InvalidInputError)
        │   ├── EmptyInputError         nothing to measure: no items, no readers, no ratings
        │   ├── ShapeMismatchError      arrays that must line up do not
        │   └── SpacingError            voxel spacing that is not positive, finite, one per axis
        └── IncompatibleStatsError      summing statistics kept over different categories/bins
                                        (also InvalidInputError)

Every error names the rule that was broken and what to do about it.
"""

from __future__ import annotations

from shared.errors import HarmoniaError, InvalidInputError

__all__ = [
    "AgreementError",
    "AgreementInputError",
    "EmptyInputError",
    "IncompatibleStatsError",
    "ShapeMismatchError",
    "SpacingError",
]


class AgreementError(HarmoniaError):
    """Root of every error the agreement engine raises."""


class AgreementInputError(AgreementError, InvalidInputError):
    """The data handed to a metric breaks a documented rule; the message names it."""


class EmptyInputError(AgreementInputError):
    """There is nothing to measure (no items, no readers or no pairable ratings)."""


class ShapeMismatchError(AgreementInputError):
    """Arrays that must have the same (or compatible) shape do not.

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


class SpacingError(AgreementInputError):
    """Voxel spacing is missing, of the wrong length, or not positive and finite."""


class IncompatibleStatsError(AgreementError, InvalidInputError):
    """Two sufficient statistics cannot be added: their categories, bins or shapes differ.

    Parameters
    ----------
    message
        What differs and what to do.
    field
        The name of the field that differs (``"categories"``, ``"bin_edges"``...).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
