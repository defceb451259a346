"""Storage-neutral query criteria, as QIDO-RS defines matching (PS3.18 §8.3.4).

The DICOMweb layer parses query parameters into :class:`Match` objects; the
store turns them into SQL. Keeping them here keeps HTTP out of the store and
SQL out of the HTTP layer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Level", "Match", "MatchKind", "SearchRequest"]


class Level(enum.StrEnum):
    """The information-model level a search returns."""

    STUDY = "study"
    SERIES = "series"
    INSTANCE = "instance"


class MatchKind(enum.Enum):
    """How a query value is compared with the stored attribute."""

    SINGLE_VALUE = "single"
    UID_LIST = "uid-list"
    WILDCARD = "wildcard"
    RANGE = "range"


@dataclass(frozen=True)
class Match:
    """One matching key: attribute keyword, kind and values.

    ``RANGE`` carries ``(low, high)`` where either may be ``""`` for an open
    end; ``WILDCARD`` carries one pattern with DICOM ``*`` and ``?``.
    """

    keyword: str
    kind: MatchKind
    values: tuple[str, ...]


@dataclass(frozen=True)
class SearchRequest:
    """A whole search: level, matches, paging, and whether quarantine is visible."""

    level: Level
    matches: tuple[Match, ...] = ()
    limit: int | None = None
    offset: int = 0
    include_quarantined: bool = False
    fuzzy_matching: bool = False
