"""Plain, immutable records the annotation domain returns.

SQL rows stay inside the domain's transactions; callers get these frozen
dataclasses (and the HTTP layer turns them into response models).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.schemas import Guideline

__all__ = [
    "AgreementFigure",
    "AnnotationRecord",
    "ConsensusRecord",
    "GuidelineVersion",
    "MemberRole",
    "ProjectRecord",
    "ReaderPart",
    "ReaderStatus",
    "ReviewDecision",
    "ReviewStatus",
    "RevisionRecord",
    "TaskRecord",
    "TaskSlice",
    "TaskStatus",
    "WorklistItem",
]


class TaskStatus(enum.StrEnum):
    """Where a task stands.

    ``open`` while readers work; once the last reader completes, ``adjudication``
    when some label's agreement is below its threshold, else ``consensus``
    (computed, or resolved by an adjudicator).
    """

    OPEN = "open"
    ADJUDICATION = "adjudication"
    CONSENSUS = "consensus"


class ReaderStatus(enum.StrEnum):
    """Where one reader's part of a task stands."""

    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    REJECTED = "rejected"


class ReviewStatus(enum.StrEnum):
    """A reviewer's verdict on one reader's part."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ReviewDecision(enum.StrEnum):
    """What a reviewer decides."""

    APPROVE = "approve"
    REJECT = "reject"


class MemberRole(enum.StrEnum):
    """A user's part in a project."""

    READER = "reader"
    REVIEWER = "reviewer"


@dataclass(frozen=True)
class GuidelineVersion:
    """A loaded guideline version."""

    id: int
    guideline: Guideline
    sha256: str
    loaded_by: str
    loaded_at: datetime

    @property
    def name(self) -> str:
        """The guideline's name."""
        return self.guideline.name

    @property
    def version(self) -> str:
        """The guideline's version."""
        return self.guideline.version


@dataclass(frozen=True)
class ProjectRecord:
    """An annotation project."""

    id: int
    name: str
    guideline_name: str
    guideline_version: str
    readers_per_task: int
    query: dict[str, Any]
    readers: tuple[str, ...]
    reviewers: tuple[str, ...]
    created_by: str
    created_at: datetime
    task_count: int
    status_counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSlice:
    """One slice of a task: an instance, in order along the slice normal."""

    index: int
    sop_instance_uid: str
    rows: int
    columns: int
    pixel_spacing: tuple[float, float] | None
    slice_thickness: float | None
    position: tuple[float, float, float] | None
    instance_number: int | None = None
    frame: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form, as stored with the task and sent to clients."""
        return {
            "index": self.index,
            "sop_instance_uid": self.sop_instance_uid,
            "rows": self.rows,
            "columns": self.columns,
            "pixel_spacing": list(self.pixel_spacing) if self.pixel_spacing else None,
            "slice_thickness": self.slice_thickness,
            "position": list(self.position) if self.position else None,
            "instance_number": self.instance_number,
            "frame": self.frame,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskSlice:
        """Read back :meth:`to_json`."""
        spacing = data.get("pixel_spacing")
        position = data.get("position")
        return cls(
            index=int(data["index"]),
            sop_instance_uid=str(data["sop_instance_uid"]),
            rows=int(data["rows"]),
            columns=int(data["columns"]),
            pixel_spacing=(float(spacing[0]), float(spacing[1])) if spacing else None,
            slice_thickness=(
                float(data["slice_thickness"]) if data.get("slice_thickness") else None
            ),
            position=(
                (float(position[0]), float(position[1]), float(position[2])) if position else None
            ),
            instance_number=data.get("instance_number"),
            frame=data.get("frame"),
        )


@dataclass(frozen=True)
class ReaderPart:
    """One reader's part of a task and its review."""

    username: str
    status: ReaderStatus
    review_status: ReviewStatus
    review_reason: str
    reviewed_by: str | None
    reviewed_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class AnnotationRecord:
    """An annotation at its head revision."""

    annotation_id: int
    task_id: int
    reader: str
    label: str
    kind: str
    revision: int
    payload: dict[str, Any]
    author: str
    created_at: datetime
    updated_at: datetime
    deleted: bool
    guideline_version_id: int

    def to_json(self) -> dict[str, Any]:
        """The payload plus identity: what the API returns for an annotation."""
        return {
            "annotation_id": self.annotation_id,
            "task_id": self.task_id,
            "reader": self.reader,
            "revision": self.revision,
            **self.payload,
            "deleted": self.deleted,
            "guideline_version_id": self.guideline_version_id,
            "author": self.author,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class RevisionRecord:
    """One revision of an annotation."""

    annotation_id: int
    revision: int
    payload: dict[str, Any]
    author: str
    created_at: datetime
    tombstone: bool
    guideline_version_id: int

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "annotation_id": self.annotation_id,
            "revision": self.revision,
            "payload": self.payload,
            "author": self.author,
            "created_at": self.created_at.isoformat(),
            "tombstone": self.tombstone,
            "guideline_version_id": self.guideline_version_id,
        }


@dataclass(frozen=True)
class TaskRecord:
    """A task with its slices and readers."""

    id: int
    project: str
    project_id: int
    series_instance_uid: str
    study_instance_uid: str
    modality: str
    description: str
    slices: tuple[TaskSlice, ...]
    status: TaskStatus
    priority: int
    round: int
    readers: tuple[ReaderPart, ...]
    guideline_version_id: int
    created_at: datetime
    completed_at: datetime | None

    def part(self, username: str) -> ReaderPart | None:
        """The reader part of ``username``, or ``None``."""
        return next((p for p in self.readers if p.username == username), None)

    @property
    def complete(self) -> bool:
        """Whether every reader has completed (blinding lifts)."""
        return self.status is not TaskStatus.OPEN


@dataclass(frozen=True)
class WorklistItem:
    """One line of a reader's worklist."""

    task: TaskRecord
    my_status: ReaderStatus
    my_annotations: int
    review_status: ReviewStatus
    review_reason: str


@dataclass(frozen=True)
class AgreementFigure:
    """One agreement figure of a label in a task (a reader pair, or all readers)."""

    label: str
    kind: str
    metric: str
    value: float | None
    readers: tuple[str, ...]
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def pair(self) -> tuple[str, str] | None:
        """The reader pair, or ``None`` for an all-readers figure."""
        return (self.readers[0], self.readers[1]) if len(self.readers) == 2 else None

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "label": self.label,
            "kind": self.kind,
            "metric": self.metric,
            "value": self.value,
            "readers": list(self.readers),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ConsensusRecord:
    """The final annotations of one label in a task and how they were reached."""

    task_id: int
    round: int
    label: str
    method: str
    payload: dict[str, Any]
    created_by: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "task_id": self.task_id,
            "round": self.round,
            "label": self.label,
            "method": self.method,
            **self.payload,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }
