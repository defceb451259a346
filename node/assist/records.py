"""Plain, immutable records of AI assistance (what the services return)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "AssistSettings",
    "ModelRef",
    "Outcome",
    "ProposalRecord",
    "ProposalStatus",
    "RunRecord",
    "TaskScore",
]


class Outcome(enum.StrEnum):
    """What a reader did with a proposal."""

    ACCEPTED = "accepted"
    EDITED = "edited"
    REJECTED = "rejected"


class ProposalStatus(enum.StrEnum):
    """A proposal as one reader sees it: still a draft, or resolved."""

    DRAFT = "draft"
    ACCEPTED = "accepted"
    EDITED = "edited"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ModelRef:
    """A model version: the registry's name and version, and the weights' SHA-256."""

    name: str
    version: str
    sha256: str

    @property
    def key(self) -> str:
        """``name@version``."""
        return f"{self.name}@{self.version}"

    def to_json(self) -> dict[str, str]:
        """JSON form."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True)
class AssistSettings:
    """A project's AI-assistance settings (everything off until an admin turns it on)."""

    project: str
    preannotation: bool = False
    active_learning: bool = False
    anchoring_acknowledged: bool = False
    changed_by: str | None = None
    changed_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "project": self.project,
            "preannotation": self.preannotation,
            "active_learning": self.active_learning,
            "anchoring_acknowledged": self.anchoring_acknowledged,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
        }


@dataclass(frozen=True)
class ProposalRecord:
    """One proposal as one caller may see it.

    ``status`` and the resolution fields are the caller's own (a reader never
    sees what another reader did with the same draft); ``resolutions`` lists
    every reader's, and is filled only for callers blinding has lifted for.
    """

    id: int
    task_id: int
    run_id: int
    model: ModelRef
    label: str
    kind: str
    payload: dict[str, Any]
    probability: float | None
    created_at: datetime
    status: ProposalStatus = ProposalStatus.DRAFT
    annotation_id: int | None = None
    revision: int | None = None
    dice: float | None = None
    iou: float | None = None
    reason: str = ""
    resolutions: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """What the API returns for a proposal: the payload's fields plus identity and status."""
        return {
            "id": self.id,
            "task_id": self.task_id,
            "run_id": self.run_id,
            "model": self.model.to_json(),
            "label": self.label,
            "kind": self.kind,
            "geometry": self.payload.get("geometry", {}),
            "probability": self.probability,
            "probabilities": self.payload.get("probabilities"),
            "created_at": self.created_at.isoformat(),
            "status": self.status.value,
            "annotation_id": self.annotation_id,
            "revision": self.revision,
            "dice": self.dice,
            "iou": self.iou,
            "reason": self.reason,
            "resolutions": list(self.resolutions),
        }


@dataclass(frozen=True)
class TaskScore:
    """A task's active-learning figures from one run."""

    task_id: int
    uncertainty: float
    disagreement: float
    score: float
    priority: int
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "task_id": self.task_id,
            "uncertainty": self.uncertainty,
            "disagreement": self.disagreement,
            "score": self.score,
            "priority": self.priority,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class RunRecord:
    """One inference run."""

    id: int
    project: str
    model: ModelRef
    parameters: dict[str, Any]
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    tasks_predicted: int
    proposals: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "project": self.project,
            "model": self.model.to_json(),
            "parameters": self.parameters,
            "started_by": self.started_by,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "tasks_predicted": self.tasks_predicted,
            "proposals": self.proposals,
        }
