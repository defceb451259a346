"""The last look at every outbound payload: no canary, hospital UID or denylisted identifier.

The kinds' schemas (:mod:`node.egress.kinds`) already keep free text out; this
scan is the second, independent line. It walks the whole payload, mapping keys
included, and looks at

* every string, and every ``bytes`` value decoded as Latin-1 and as UTF-8;
* every element of a string array;
* integers and integer-valued numbers, against the all-digit denylist entries
  of six digits or more (a patient ID or a date sent as a number);
* the raw buffer of every numeric array, for the phantom canary pattern and
  the denylist entries of at least 8 characters (smuggling text inside a float
  array); arrays of other dtypes are refused outright.

What it refuses (:class:`Denylist`):

``phantom_canary``
    ``CANARY-`` followed by nine hexadecimal characters: the values
    :mod:`shared.phantoms` plants in every identifying header. Always on.
``hospital_uid``
    a DICOM UID under one of the hospital's roots (``uid_prefixes``): the
    node replaces them on ingest, so one in a payload is a leak.
``denylist``
    a term the node provides (patient names, IDs, birth dates, staff names),
    matched case-insensitively as whole words after punctuation is folded
    to spaces, so ``DOE^JANE`` also catches ``Jane Doe`` parts and
    ``Doe, Jane``; each component of a person name (``^``-separated) of four
    letters or more is a term of its own, and ``YYYYMMDD`` dates also match
    ``YYYY-MM-DD`` and ``DD.MM.YYYY``.

A finding names the field and the rule, never the matched value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from node.errors import CanaryDetectedError, EgressRefusedError

__all__ = ["PHANTOM_CANARY_PATTERN", "CanaryScan", "Denylist", "Finding"]

PHANTOM_CANARY_PATTERN = r"CANARY-[0-9A-F]{9}"
"""What :class:`shared.phantoms.Canaries` values look like (the birth date aside)."""

_TEXT_CANARY = re.compile(PHANTOM_CANARY_PATTERN, re.IGNORECASE)
_BINARY_CANARY = re.compile(PHANTOM_CANARY_PATTERN.encode("ascii"), re.IGNORECASE)
_PUNCTUATION = re.compile(r"[\W_]+")
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MIN_BINARY_TERM = 8
_MIN_NUMERIC_TERM = 6
_MIN_NAME_PART = 4


@dataclass(frozen=True)
class Denylist:
    """What the node knows must never leave it, beyond the phantom canaries.

    Parameters
    ----------
    uid_prefixes
        The hospital's DICOM UID roots (``1.2.840.113619``), as configured.
    terms
        Patient names (``FAMILY^GIVEN``), IDs, birth dates (``YYYYMMDD``),
        staff names: provided by the node, never sent anywhere.
    """

    uid_prefixes: tuple[str, ...] = ()
    terms: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        for prefix in self.uid_prefixes:
            if not re.fullmatch(r"[0-9]+(\.[0-9]+)*", prefix):
                raise EgressRefusedError(
                    "a UID prefix must be dot-separated digits (e.g. '1.2.840.113619').",
                    field="uid_prefixes",
                )


@dataclass(frozen=True)
class Finding:
    """One match: where (``$.statistics[0].label``) and which rule."""

    field: str
    rule: str


class CanaryScan:
    """Scans payloads against the phantom canaries and a :class:`Denylist`."""

    def __init__(self, denylist: Denylist | None = None) -> None:
        denylist = denylist or Denylist()
        self._uids = [
            re.compile(rf"(?<![0-9]){re.escape(p)}(?![0-9])") for p in denylist.uid_prefixes
        ]
        words = sorted({w for term in denylist.terms for w in _variants(term)}, key=len)
        self._words = (
            re.compile(
                r"(?<![^ ])(?:" + "|".join(re.escape(w) for w in reversed(words)) + r")(?![^ ])"
            )
            if words
            else None
        )
        self._numbers = {int(w) for w in words if w.isdigit() and len(w) >= _MIN_NUMERIC_TERM}
        needles = [p for p in denylist.uid_prefixes if len(p) >= _MIN_BINARY_TERM]
        needles += [t for t in denylist.terms if len(t) >= _MIN_BINARY_TERM]
        self._needles = (
            [n.encode("utf-8") for n in needles]
            + [n.encode("utf-8").lower() for n in needles]
            + [n.encode("utf-8").upper() for n in needles]
        )

    def findings(self, payload: Any) -> list[Finding]:
        """Every match in ``payload``, in walk order."""
        return list(self._walk(payload, "$"))

    def check(self, payload: Any, *, kind: str | None = None) -> None:
        """Raise :class:`CanaryDetectedError` on the first match.

        Raises
        ------
        CanaryDetectedError
            Naming the field and the rule that matched.
        EgressRefusedError
            For an array whose dtype cannot be scanned (objects, records).
        """
        for finding in self._walk(payload, "$"):
            raise CanaryDetectedError(
                f"refused to release {kind or 'a message'}: {finding.field} holds identifying "
                f"content ({finding.rule.replace('_', ' ')}). Nothing was sent. Find where that "
                "field is filled from and keep identifying data out of it.",
                kind=kind,
                field=finding.field,
                rule=finding.rule,
            )

    def _walk(self, value: Any, path: str) -> Iterator[Finding]:
        if isinstance(value, str):
            yield from self._text(value, path)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            raw = bytes(value)
            yield from (
                list(self._text(raw.decode("latin-1"), path))
                or self._text(raw.decode("utf-8", "ignore"), path)
            )
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, (int, np.integer)):
            if int(value) in self._numbers:
                yield Finding(path, "denylist")
        elif isinstance(value, (float, np.floating)):
            if float(value).is_integer() and int(value) in self._numbers:
                yield Finding(path, "denylist")
        elif isinstance(value, np.ndarray):
            yield from self._array(value, path)
        elif isinstance(value, np.generic):
            yield from self._walk(value.item(), path)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                yield from self._walk(str(key), f"{path}.<key>")
                yield from self._walk(item, f"{path}.{key}")
        elif isinstance(value, Iterable):
            for index, item in enumerate(value):
                yield from self._walk(item, f"{path}[{index}]")

    def _text(self, text: str, path: str) -> Iterator[Finding]:
        if _TEXT_CANARY.search(text):
            yield Finding(path, "phantom_canary")
            return
        if any(p.search(text) for p in self._uids):
            yield Finding(path, "hospital_uid")
            return
        if self._words is not None:
            folded = " " + _PUNCTUATION.sub(" ", text.casefold()) + " "
            if self._words.search(folded):
                yield Finding(path, "denylist")

    def _array(self, array: np.ndarray[Any, Any], path: str) -> Iterator[Finding]:
        kind = array.dtype.kind
        if kind in "US":
            for index, item in enumerate(array.ravel().tolist()):
                yield from self._walk(item, f"{path}[{index}]")
            return
        if kind not in "biuf":
            raise EgressRefusedError(
                f"{path} is an array of dtype {array.dtype.str}, which the gate does not "
                "release; send numbers only.",
                field=path,
            )
        raw = np.ascontiguousarray(array).tobytes()
        if _BINARY_CANARY.search(raw) or any(n in raw for n in self._needles):
            yield Finding(path, "phantom_canary" if _BINARY_CANARY.search(raw) else "denylist")
            return
        if self._numbers and array.size:
            values = array[np.isfinite(array)] if kind == "f" else array
            if np.isin(values, list(self._numbers)).any():
                yield Finding(path, "denylist")


def _variants(term: str) -> set[str]:
    """The folded words a denylist term is matched as."""
    folded = _PUNCTUATION.sub(" ", term.casefold()).strip()
    if not folded:
        return set()
    out = {folded}
    if "^" in term:
        parts = [p for p in (_PUNCTUATION.sub(" ", x.casefold()).strip() for x in term.split("^"))]
        out |= {p for p in parts if len(p) >= _MIN_NAME_PART}
        named = [p for p in parts if p]
        out.add(" ".join(reversed(named)))  # GIVEN FAMILY
    date = _DATE.match(term.strip())
    if date:
        year, month, day = date.groups()
        out |= {f"{year} {month} {day}", f"{day} {month} {year}"}
    return out
