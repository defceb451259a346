"""QIDO-RS query parameters (PS3.18 §8.3.4) parsed into a store :class:`SearchRequest`.

Matching keys may be named by keyword or by tag (``PatientID=X`` or
``00100020=X``). Values follow PS3.4 C.2.2.2: ``*`` and ``?`` wildcards,
``low-high`` ranges for dates and times (either end may be open), and lists
of UIDs separated by commas or backslashes. An empty value asks for the attribute
to be returned (universal matching), like ``includefield``.

``fuzzymatching=true`` makes person-name keys match any name containing the
value, case-insensitively; PS3.18 leaves fuzzy semantics to the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.tag import BaseTag, Tag

from node.errors import QueryError
from node.store.criteria import Level, Match, MatchKind, SearchRequest
from node.store.search import searchable_keywords

__all__ = ["MAX_LIMIT", "QidoQuery", "parse_qido", "resolve_attribute"]

MAX_LIMIT = 10_000
"""Largest page a search returns; larger ``limit`` values are capped to it."""

_UID_KEYS = {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"}
_LIST_KEYS = _UID_KEYS | {"ModalitiesInStudy"}
_PERSON_NAME_KEYS = {"PatientName", "ReferringPhysicianName"}
_DATE = re.compile(r"\d{8}")
_TIME = re.compile(r"\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?")
_RESERVED = {"limit", "offset", "includefield", "fuzzymatching"}
_TAG = re.compile(r"[0-9A-Fa-f]{8}")


@dataclass(frozen=True)
class QidoQuery:
    """A parsed QIDO-RS request: the store search plus what to return.

    Parameters
    ----------
    request
        The store search.
    include_fields
        Extra attributes to return, as tags, in request order.
    include_all
        ``includefield=all`` was given.
    """

    request: SearchRequest
    include_fields: tuple[BaseTag, ...] = ()
    include_all: bool = False


def resolve_attribute(name: str, *, parameter: str) -> tuple[BaseTag, str]:
    """Resolve a keyword or 8-hex-digit tag to ``(tag, keyword)``; keyword '' if private.

    Raises
    ------
    QueryError
        Neither a known keyword nor a tag.
    """
    if _TAG.fullmatch(name):
        tag = Tag(int(name, 16))
        return tag, keyword_for_tag(tag) or ""
    number = tag_for_keyword(name)
    if number is None:
        raise QueryError(
            f"{parameter}: {name!r} is neither a DICOM attribute keyword nor a tag "
            "(8 hex digits such as 00100020)",
            parameter=parameter,
        )
    return Tag(number), name


def parse_qido(
    level: Level,
    params: Iterable[tuple[str, str]],
    *,
    include_quarantined: bool,
    scope: Mapping[str, str] | None = None,
) -> QidoQuery:
    """Parse QIDO-RS query parameters.

    Parameters
    ----------
    level
        What the search returns.
    params
        The query string as ``(name, value)`` pairs; names may repeat.
    include_quarantined
        Whether quarantined instances are visible (admin callers only).
    scope
        Keys fixed by the URL, e.g. ``{"StudyInstanceUID": uid}``.

    Raises
    ------
    QueryError
        An unknown key, a malformed value or range, or bad paging.
    """
    matches = [Match(key, MatchKind.SINGLE_VALUE, (value,)) for key, value in (scope or {}).items()]
    includes: list[BaseTag] = []
    include_all = False
    limit: int | None = MAX_LIMIT
    offset = 0
    fuzzy = False
    raw: list[tuple[str, str]] = []
    for name, value in params:
        reserved = name.lower()
        if reserved == "limit":
            limit = min(_non_negative(name, value), MAX_LIMIT)
        elif reserved == "offset":
            offset = _non_negative(name, value)
        elif reserved == "fuzzymatching":
            fuzzy = _boolean(name, value)
        elif reserved == "includefield":
            for item in filter(None, (v.strip() for v in value.split(","))):
                if item.lower() == "all":
                    include_all = True
                else:
                    includes.append(resolve_attribute(item, parameter="includefield")[0])
        else:
            raw.append((name, value))
    allowed = searchable_keywords(level)
    for name, value in raw:
        if value == "":
            # Universal matching: any attribute may be asked for, like includefield.
            includes.append(resolve_attribute(name, parameter=name)[0])
            continue
        keyword = _matching_key(name, allowed, level)
        matches.append(_match(keyword, value, fuzzy=fuzzy))
    request = SearchRequest(
        level=level,
        matches=tuple(matches),
        limit=limit,
        offset=offset,
        include_quarantined=include_quarantined,
        fuzzy_matching=fuzzy,
    )
    return QidoQuery(request, tuple(dict.fromkeys(includes)), include_all)


def _matching_key(name: str, allowed: frozenset[str], level: Level) -> str:
    if _TAG.fullmatch(name) or tag_for_keyword(name) is not None:
        keyword = resolve_attribute(name, parameter=name)[1]
        if keyword in allowed:
            return keyword
    raise QueryError(
        f"unknown query parameter {name!r} for a {level} search; use limit, offset, "
        f"includefield, fuzzymatching or one of these keys (keyword or tag): "
        f"{', '.join(sorted(allowed))}",
        parameter=name,
    )


def _match(keyword: str, value: str, *, fuzzy: bool) -> Match:
    if keyword in _LIST_KEYS:
        values = tuple(v.strip() for v in re.split(r"[,\\]", value) if v.strip())
        if not values:
            raise QueryError(f"{keyword}: empty list {value!r}", parameter=keyword)
        kind = MatchKind.UID_LIST if len(values) > 1 else MatchKind.SINGLE_VALUE
        return Match(keyword, kind, values)
    vr = dictionary_VR(tag_for_keyword(keyword) or 0)
    if vr in ("DA", "TM"):
        return _range_or_single(keyword, value, _DATE if vr == "DA" else _TIME)
    if "*" in value or "?" in value:
        return Match(keyword, MatchKind.WILDCARD, (value,))
    if fuzzy and keyword in _PERSON_NAME_KEYS:
        return Match(keyword, MatchKind.WILDCARD, (f"*{value}*",))
    return Match(keyword, MatchKind.SINGLE_VALUE, (value,))


def _range_or_single(keyword: str, value: str, pattern: re.Pattern[str]) -> Match:
    kind_name = "date (YYYYMMDD)" if pattern is _DATE else "time (HHMMSS[.FFFFFF])"
    if "-" not in value:
        if not pattern.fullmatch(value):
            raise QueryError(
                f"{keyword}={value!r} is not a {kind_name} or a range low-high",
                parameter=keyword,
            )
        return Match(keyword, MatchKind.SINGLE_VALUE, (value,))
    low, _, high = value.partition("-")
    for end in (low, high):
        if end and not pattern.fullmatch(end):
            raise QueryError(
                f"{keyword}={value!r}: {end!r} is not a {kind_name}; write ranges as "
                "low-high, low- or -high",
                parameter=keyword,
            )
    if not low and not high:
        raise QueryError(f"{keyword}: a range needs at least one end", parameter=keyword)
    if low and high and low > high:
        raise QueryError(f"{keyword}={value!r}: the range starts after it ends", parameter=keyword)
    if high and pattern is _TIME and "." not in high:
        # A partial time ends where its last unit ends: 12 means up to 12:59:59.999999.
        high = (high + "5959"[len(high) - 2 :]) + ".999999"
    return Match(keyword, MatchKind.RANGE, (low, high))


def _non_negative(name: str, value: str) -> int:
    if not value.strip().isdigit():
        raise QueryError(f"{name} must be a non-negative integer, got {value!r}", parameter=name)
    return int(value)


def _boolean(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise QueryError(f"{name} must be true or false, got {value!r}", parameter=name)
    return lowered == "true"
