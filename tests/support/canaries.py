"""Searching captured bytes for phantom canaries in every encoding we could think of.

:func:`canary_encodings` turns one canary into the byte strings it would take
on the wire: UTF-8 (upper and lower case), UTF-16 (both byte orders), hex
(both cases), and base64 of the UTF-8 bytes at each of the three alignments
it can take inside a longer base64 text (the characters that depend on the
neighbouring bytes are cut off). :func:`find_canaries` reports every
``(canary, encoding, file)`` found in a set of files.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Hit", "canary_encodings", "find_canaries", "read_all"]


@dataclass(frozen=True)
class Hit:
    """A canary found: which, as what, where."""

    canary: str
    encoding: str
    source: str


def _base64_alignments(raw: bytes) -> dict[str, bytes]:
    """The base64 text ``raw`` contributes at offsets 0, 1, 2 of a longer input.

    Characters that mix bits of ``raw`` with the bytes before or after it are cut off.
    """
    out: dict[str, bytes] = {}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        start = (0, 2, 3)[shift]
        end = len(encoded) - (0, 3, 2)[(shift + len(raw)) % 3]
        out[f"base64+{shift}"] = encoded[start:end]
    return out


def canary_encodings(canary: str) -> dict[str, bytes]:
    """Every encoding of ``canary`` the search looks for, by name."""
    raw = canary.encode("utf-8")
    forms = {
        "utf-8": raw,
        "utf-8 lower case": canary.lower().encode("utf-8"),
        "utf-16-le": canary.encode("utf-16-le"),
        "utf-16-be": canary.encode("utf-16-be"),
        "hex": raw.hex().encode("ascii"),
        "HEX": raw.hex().upper().encode("ascii"),
    }
    forms.update(_base64_alignments(raw))
    return forms


def find_canaries(canaries: Iterable[str], blobs: Mapping[str, bytes]) -> list[Hit]:
    """Every canary, in every encoding, found in ``blobs`` (source name -> bytes)."""
    patterns = [
        (c, name, form) for c in sorted(set(canaries)) for name, form in canary_encodings(c).items()
    ]
    return [
        Hit(canary, name, source)
        for source, data in sorted(blobs.items())
        for canary, name, form in patterns
        if form in data
    ]


def read_all(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory``, by name."""
    return {p.name: p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
