"""Progress bars and end-of-run summaries for the bulk ingest commands (import, pull)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TextIO

from tqdm import tqdm

from node.dicom.import_summary import ImportSummary
from node.exit_codes import ExitCode

__all__ = ["TqdmProgress", "exit_code_for", "print_summary"]

_MAX_LISTED = 50


class TqdmProgress:
    """An :class:`~node.dicom.import_summary.ImportProgress` drawn by tqdm on stderr.

    Parameters
    ----------
    description
        The bar's label.
    unit
        What one step counts.
    """

    def __init__(self, description: str, *, unit: str = "file") -> None:
        self._bar = tqdm(desc=description, unit=unit, file=sys.stderr, dynamic_ncols=True)

    def begin(self, total: int | None) -> None:
        """Set (or extend) the expected total."""
        if total is not None:
            self._bar.total = (self._bar.total or 0) + total
            self._bar.refresh()

    def advance(self, count: int = 1) -> None:
        """Move the bar on."""
        self._bar.update(count)

    def close(self) -> None:
        """Finish the bar's line."""
        self._bar.close()

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def print_summary(summary: ImportSummary, *, out: TextIO | None = None) -> None:
    """Print counts, then every rejected and skipped item with its reason (first 50 each)."""
    out = out or sys.stdout
    print(
        f"stored: {summary.stored} (quarantined for review: {summary.quarantined})  "
        f"duplicates: {summary.duplicates}  rejected: {len(summary.rejected)}  "
        f"skipped (not DICOM instances): {len(summary.skipped)}",
        file=out,
    )
    for title, items in (("rejected", summary.rejected), ("skipped", summary.skipped)):
        for item, reason in items[:_MAX_LISTED]:
            print(f"  {title}: {item}: {reason}", file=out)
        if len(items) > _MAX_LISTED:
            print(f"  ... and {len(items) - _MAX_LISTED} more {title}", file=out)


def exit_code_for(summary: ImportSummary) -> ExitCode:
    """``OK`` when nothing was rejected, else ``SOME_REJECTED`` (1)."""
    return ExitCode.OK if summary.complete else ExitCode.SOME_REJECTED
