"""Shifting DA and DT values by whole days (Retain Longitudinal ... Modified Dates Option).

A whole-day shift leaves every time of day unchanged, so TM values stay coherent
with the shifted dates as they are, and every interval is preserved exactly.
Values are shifted at the precision they were written with (a DT of ``YYYYMM``
stays ``YYYYMM``); a value that is not a date at all becomes the dummy.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["DUMMY_DA", "DUMMY_DT", "DUMMY_TM", "shift_da", "shift_dt"]

DUMMY_DA = "19000101"
DUMMY_DT = "19000101000000"
DUMMY_TM = "000000"

_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(.*)$")


def _shift_date(year: int, month: int, day: int, days: int) -> dt.date:
    return dt.date(year, month, day) - dt.timedelta(days=days)


def shift_da(value: str, days: int) -> str:
    r"""Move one DA value (``YYYYMMDD``, or ACR-NEMA ``YYYY.MM.DD``) back by ``days``.

    Multi-valued strings (``a\b``) are shifted value by value; an empty value
    stays empty and an unparseable one becomes :data:`DUMMY_DA`.
    """
    if "\\" in value:
        return "\\".join(shift_da(part, days) for part in value.split("\\"))
    text = value.strip().replace(".", "")
    if not text:
        return ""
    if len(text) != 8 or not text.isdigit():
        return DUMMY_DA
    try:
        shifted = _shift_date(int(text[:4]), int(text[4:6]), int(text[6:8]), days)
    except (ValueError, OverflowError):
        return DUMMY_DA
    return shifted.strftime("%Y%m%d").zfill(8)


def shift_dt(value: str, days: int) -> str:
    """Move one DT value back by ``days``, keeping its precision, time and UTC offset.

    Multi-valued strings are shifted value by value; an empty value stays empty
    and an unparseable one becomes :data:`DUMMY_DT`.
    """
    if "\\" in value:
        return "\\".join(shift_dt(part, days) for part in value.split("\\"))
    text = value.strip()
    if not text:
        return ""
    match = _DT.match(text)
    if match is None:
        return DUMMY_DT
    year_s, month_s, day_s, rest = match.groups()
    if rest and (month_s is None or day_s is None):
        return DUMMY_DT
    try:
        shifted = _shift_date(int(year_s), int(month_s or 1), int(day_s or 1), days)
    except (ValueError, OverflowError):
        return DUMMY_DT
    out = f"{shifted.year:04d}"
    if month_s is not None:
        out += f"{shifted.month:02d}"
    if day_s is not None:
        out += f"{shifted.day:02d}"
    return out + rest
