"""Errors of :mod:`shared.models`.

::

    ModelError                 (shared.errors.HarmoniaError)
    ├── ModelSpecError         a plan's network that cannot be built     (also InvalidInputError)
    └── WeightsMismatchError   arrays that do not fit the model's weights (also InvalidInputError)
"""

from __future__ import annotations

from shared.errors import HarmoniaError, InvalidInputError

__all__ = ["ModelError", "ModelSpecError", "WeightsMismatchError"]


class ModelError(HarmoniaError):
    """Base class of the model package's errors."""


class ModelSpecError(ModelError, InvalidInputError):
    """A network the plan describes cannot be built as asked."""


class WeightsMismatchError(ModelError, InvalidInputError):
    """Weight arrays that do not fit a model: wrong count, shape or values.

    Parameters
    ----------
    message
        Which array is wrong and what was expected.
    index
        Position of the offending array (``None`` when the count is wrong).
    name
        The model's name for that weight, when known.
    """

    def __init__(self, message: str, *, index: int | None = None, name: str | None = None) -> None:
        super().__init__(message)
        self.index = index
        self.name = name
