"""Exports of the quality views as CSV (one table per view) or JSON.

CSV columns are fixed per view (:data:`COLUMNS`), whatever the data, so a
spreadsheet or script can rely on them. Empty cells mean "not applicable" or
"undefined". Text cells that a spreadsheet would run as a formula (starting
with ``=``, ``+``, ``-``, ``@``, tab or CR) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from node.errors import QueryError
from node.quality.figures import EXTRA_COLUMNS
from node.quality.report import QualityReport

__all__ = ["COLUMNS", "ExportFormat", "View", "export", "rows_to_csv", "view_rows"]


class View(enum.StrEnum):
    """The dashboard's views, each exportable."""

    SUMMARY = "summary"
    LABELS = "labels"
    READERS = "readers"
    PAIRS = "pairs"
    DRIFT = "drift"
    CHECKS = "checks"


class ExportFormat(enum.StrEnum):
    """Export formats."""

    JSON = "json"
    CSV = "csv"

    @classmethod
    def parse(cls, value: str) -> ExportFormat:
        """The format named ``value`` (:class:`~node.errors.QueryError` otherwise)."""
        try:
            return cls(value.lower())
        except ValueError:
            raise QueryError(
                f"format must be json or csv; got {value!r}", parameter="format"
            ) from None


_FIGURE = (
    "metric",
    "value",
    "n_comparisons",
    "n_tasks",
    "mean_case",
    "se_case",
    *EXTRA_COLUMNS,
    "note",
)
_LABELS = (
    "label",
    "kind",
    "guideline_version",
    *_FIGURE,
    "target",
    "adjudication_threshold",
    "below_target",
)

COLUMNS: dict[View, tuple[str, ...]] = {
    View.SUMMARY: _LABELS,
    View.LABELS: _LABELS,
    View.PAIRS: ("label", "kind", "reader_a", "reader_b", *_FIGURE),
    View.READERS: (
        "reader",
        "label",
        "kind",
        "tasks",
        "annotations",
        "cannot_assess",
        "cannot_assess_rate",
        "mean_confidence",
        "low_confidence_rate",
        "agreement_with_others",
        "n_pairs",
        "agreement_of_rest",
        "n_pairs_rest",
        "staple_sensitivity",
        "staple_specificity",
        "staple_tasks",
        "consensus_agreement",
        "consensus_kappa",
        "consensus_items",
    ),
    View.DRIFT: ("label", "kind", "window", "start", *_FIGURE, "target", "flags"),
    View.CHECKS: (
        "check",
        "severity",
        "subject_type",
        "subject",
        "label",
        "figure",
        "threshold",
        "message",
    ),
}
"""The CSV columns of every view, in order."""


def view_rows(report: QualityReport, view: View) -> list[dict[str, Any]]:
    """The rows of one view's table."""
    if view in (View.SUMMARY, View.LABELS):
        return report.label_rows()
    if view is View.PAIRS:
        return [p.to_row() for p in report.pairs]
    if view is View.READERS:
        return report.reader_rows()
    if view is View.CHECKS:
        return [f.to_row() for f in report.findings]
    flags: dict[tuple[str, str], list[str]] = {}
    for flag in report.drift.flags:
        flags.setdefault((flag.label, flag.window), []).append(flag.reason)
    return [
        {**p.to_row(), "flags": ";".join(flags.get((p.label, p.window), []))}
        for p in report.drift.points
    ]


def _view_json(report: QualityReport, view: View) -> dict[str, Any]:
    if view is View.SUMMARY:
        return report.to_json()
    body = report.header()
    if view is View.LABELS:
        body["labels"] = [f.to_row() for f in report.labels]
        body["versions"] = [f.to_row() for f in report.versions]
    elif view is View.DRIFT:
        body["drift"] = report.drift_json()
    elif view is View.READERS:
        body["reader_figures"] = report.reader_rows()
    elif view is View.CHECKS:
        body["findings"] = view_rows(report, view)
    else:
        body["pairs"] = view_rows(report, view)
    return body


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(round(value, 6))
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def rows_to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """CSV text (header first, CRLF line ends) of ``rows`` over ``columns``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def export(report: QualityReport, view: View, fmt: ExportFormat) -> tuple[str, str, str]:
    """One view as ``(text, media type, file name)``; JSON never holds NaN."""
    stem = f"quality-{report.data.name}-{view.value}"
    if fmt is ExportFormat.CSV:
        return rows_to_csv(view_rows(report, view), COLUMNS[view]), "text/csv", f"{stem}.csv"
    text = json.dumps(_finite(_view_json(report, view)), ensure_ascii=False, allow_nan=False)
    return text, "application/json", f"{stem}.json"
