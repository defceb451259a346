"""What happened to one received instance: stored, duplicate, or rejected and why."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from node.errors import DicomInputError

__all__ = ["IngestOutcome", "IngestStatus", "rejected"]


class IngestStatus(enum.StrEnum):
    """What happened to one received instance."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class IngestOutcome:
    """The result of ingesting one instance.

    ``sop_*`` are the UIDs as the sender sent them (so it can match its
    records); ``stored_*`` are the de-identified UIDs the node serves.
    """

    status: IngestStatus
    sop_class_uid: str | None = None
    sop_instance_uid: str | None = None
    stored_sop_instance_uid: str | None = None
    stored_study_instance_uid: str | None = None
    stored_series_instance_uid: str | None = None
    quarantined: bool = False
    failure_reason: int | None = None
    message: str | None = None

    @property
    def accepted(self) -> bool:
        """Stored now or earlier."""
        return self.status is not IngestStatus.REJECTED


def rejected(exc: DicomInputError) -> IngestOutcome:
    """The outcome of an instance refused for ``exc``."""
    return IngestOutcome(
        IngestStatus.REJECTED,
        exc.sop_class_uid,
        exc.sop_instance_uid,
        failure_reason=exc.failure_reason,
        message=str(exc),
    )
