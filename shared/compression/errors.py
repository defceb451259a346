"""Errors of :mod:`shared.compression`.

::

    CompressionError   (shared.errors.InvalidInputError)   arrays that cannot be encoded or decoded
"""

from __future__ import annotations

from shared.errors import InvalidInputError

__all__ = ["CompressionError"]


class CompressionError(InvalidInputError):
    """Arrays that cannot be encoded as asked, or an encoding that does not decode."""
