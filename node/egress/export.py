"""The egress ledger as hospital IT takes it away: JSON lines or CSV.

One object (or row) per entry, every field the ledger stores, hashes and MACs
included, so an export can be checked against the chain later.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Iterable

from node.egress.ledger import LedgerEntry

__all__ = ["CSV_COLUMNS", "LedgerFormat", "render_ledger"]

CSV_COLUMNS = tuple(LedgerEntry.__dataclass_fields__)
"""The CSV header: the ledger's fields, in order."""


class LedgerFormat(enum.StrEnum):
    """An export format, with its media type."""

    JSONL = "jsonl"
    CSV = "csv"

    @property
    def media_type(self) -> str:
        """The HTTP content type."""
        return "application/x-ndjson" if self is LedgerFormat.JSONL else "text/csv"


def render_ledger(entries: Iterable[LedgerEntry], fmt: LedgerFormat) -> str:
    """The entries as JSON lines (one object per line) or CSV with a header row."""
    if fmt is LedgerFormat.JSONL:
        return "".join(
            json.dumps(e.to_json(), sort_keys=True, ensure_ascii=False) + "\n" for e in entries
        )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        writer.writerow({k: "" if v is None else v for k, v in entry.to_json().items()})
    return buffer.getvalue()
