"""What a bulk ingest (folder or ZIP import, PACS pull) did, item by item.

Both :mod:`node.dicom.folder_import` and :mod:`node.dicom.pacs_pull` count
their outcomes into one :class:`ImportSummary` and report progress through
the :class:`ImportProgress` protocol, so the command line can show the same
progress bar and the same summary for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from node.dicom.ingest import IngestOutcome, IngestStatus

__all__ = ["ImportProgress", "ImportSummary", "NullProgress"]


class ImportProgress(Protocol):
    """Receives progress while a bulk ingest runs (a progress bar, a log, a test)."""

    def begin(self, total: int | None) -> None:
        """Announce how many items to expect (``None`` when unknown yet)."""

    def advance(self, count: int = 1) -> None:
        """``count`` more items were handled."""


class NullProgress:
    """Progress that goes nowhere."""

    def begin(self, total: int | None) -> None:
        """Ignore the total."""

    def advance(self, count: int = 1) -> None:
        """Ignore the step."""


@dataclass
class ImportSummary:
    """Counts and reasons of one bulk ingest.

    Attributes
    ----------
    stored
        Instances stored now (including quarantined ones).
    duplicates
        Instances the node already held; nothing was written.
    quarantined
        Of ``stored``, those held back for review (e.g. possible burned-in text).
    rejected
        ``(item, reason)`` for every DICOM item the node refused or could not fetch.
    skipped
        ``(item, reason)`` for items that are not DICOM instances at all
        (DICOMDIR, text files, unsafe archive names); they are not failures.
    """

    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def handled(self) -> int:
        """Items looked at, whatever happened to them."""
        return self.stored + self.duplicates + len(self.rejected) + len(self.skipped)

    @property
    def complete(self) -> bool:
        """Nothing was rejected."""
        return not self.rejected

    def record(self, item: str, outcome: IngestOutcome) -> None:
        """Count one ingest outcome for ``item`` (a path, archive member or URL)."""
        if outcome.status is IngestStatus.STORED:
            self.stored += 1
            self.quarantined += int(outcome.quarantined)
        elif outcome.status is IngestStatus.DUPLICATE:
            self.duplicates += 1
        else:
            code = f" (0x{outcome.failure_reason:04X})" if outcome.failure_reason else ""
            self.reject(item, f"{outcome.message or 'rejected'}{code}")

    def reject(self, item: str, reason: str) -> None:
        """Count ``item`` as refused for ``reason``."""
        self.rejected.append((item, reason))

    def skip(self, item: str, reason: str) -> None:
        """Count ``item`` as not an instance, for ``reason``."""
        self.skipped.append((item, reason))

    def merge(self, other: ImportSummary) -> None:
        """Add another summary's counts and reasons to this one."""
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.rejected.extend(other.rejected)
        self.skipped.extend(other.skipped)
