"""The one behaviour every sufficient-statistics type shares: ``sum()`` starts at 0."""

from __future__ import annotations

from typing import Self

__all__ = ["Summable"]


class Summable:
    """Base of the statistics types that add up across sites.

    Subclasses define ``__add__``; this lets ``sum(per_site_stats)`` work,
    whose first step is ``0 + stats``.
    """

    __slots__ = ()

    def __radd__(self, other: object) -> Self:
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented
