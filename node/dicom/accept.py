"""Content negotiation for DICOMweb retrieve (PS3.18 §8.7): parsing ``Accept``.

An ``Accept`` header is a list of media ranges with parameters and q-values::

    multipart/related; type="application/dicom"; transfer-syntax=*, */*;q=0.1

:func:`parse_accept` turns it into :class:`MediaRange` objects, best first;
the retrieve modules decide which range they can satisfy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["MediaRange", "parse_accept", "split_outside_quotes"]


@dataclass(frozen=True)
class MediaRange:
    """One media range of an ``Accept`` header.

    Parameters
    ----------
    media_type
        ``type/subtype`` in lower case, e.g. ``multipart/related`` or ``*/*``.
    params
        Parameters with lower-case names and unquoted values (``q`` excluded).
    q
        The quality value, 0 to 1.
    """

    media_type: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0

    @property
    def part_type(self) -> str | None:
        """The ``type`` parameter of a ``multipart/related`` range, in lower case."""
        value = self.params.get("type")
        return value.lower() if value else None

    @property
    def transfer_syntax(self) -> str | None:
        """The ``transfer-syntax`` parameter, if any."""
        return self.params.get("transfer-syntax")

    def matches(self, media_type: str) -> bool:
        """Whether this range accepts the concrete ``media_type``."""
        kind, _, sub = media_type.lower().partition("/")
        range_kind, _, range_sub = self.media_type.partition("/")
        if range_kind == "*":
            return True
        return range_kind == kind and range_sub in ("*", sub)


def split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split ``text`` on ``separator`` except inside double quotes."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def parse_accept(header: str | None) -> list[MediaRange]:
    """Parse an ``Accept`` header, best (highest q) first; ``*/*`` when absent.

    Ranges with ``q=0`` are dropped; ties keep the header's order. Malformed
    ranges are ignored, as RFC 9110 lets a server do.
    """
    if header is None or not header.strip():
        return [MediaRange("*/*")]
    ranges: list[MediaRange] = []
    for item in split_outside_quotes(header, ","):
        pieces = split_outside_quotes(item, ";")
        media_type = pieces[0].strip().lower()
        if "/" not in media_type:
            continue
        params: dict[str, str] = {}
        q = 1.0
        for piece in pieces[1:]:
            name, _, value = piece.partition("=")
            name = name.strip().lower()
            value = value.strip().strip('"').strip()
            if name == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 1.0
            elif name:
                params[name] = value
        if q > 0:
            ranges.append(MediaRange(media_type, params, q))
    return sorted(ranges, key=lambda r: -r.q)
