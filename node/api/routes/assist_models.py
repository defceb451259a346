"""Request and response models of the AI-assistance routes (one per direction)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AcceptBody",
    "AcceptPublic",
    "EditBody",
    "ModelPublic",
    "ProposalListPublic",
    "ProposalPublic",
    "ProposalResultPublic",
    "RankingPublic",
    "RejectBody",
    "RunListPublic",
    "SettingsChange",
    "SettingsPublic",
    "TrackingPublic",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SettingsChange(_Body):
    """Switches to change (omitted ones keep their value)."""

    preannotation: bool | None = None
    active_learning: bool | None = None
    anchoring_acknowledged: bool | None = None


class AcceptBody(_Body):
    """Optional confidence and comment for the annotation an accepted draft becomes."""

    confidence: int | None = None
    comment: str = Field(default="", max_length=4000)


class EditBody(_Body):
    """The reader's saved annotation that is their edit of the draft."""

    annotation_id: int


class RejectBody(_Body):
    """Why the draft is wrong (optional)."""

    reason: str = Field(default="", max_length=2000)


class SettingsPublic(BaseModel):
    """A project's AI-assistance settings."""

    project: str
    preannotation: bool
    active_learning: bool
    anchoring_acknowledged: bool
    changed_by: str | None
    changed_at: str | None


class ModelPublic(BaseModel):
    """A model version."""

    name: str
    version: str
    sha256: str


class ProposalPublic(BaseModel):
    """A proposal with the caller's own status (and, unblinded, every reader's)."""

    id: int
    task_id: int
    run_id: int
    model: ModelPublic
    label: str
    kind: str
    geometry: dict[str, Any]
    probability: float | None
    probabilities: dict[str, float] | None
    created_at: str
    status: str
    annotation_id: int | None
    revision: int | None
    dice: float | None
    iou: float | None
    reason: str
    resolutions: list[dict[str, Any]]


class ProposalListPublic(BaseModel):
    """A task's drafts as the caller sees them."""

    task_id: int
    enabled: bool
    proposals: list[ProposalPublic]


class ProposalResultPublic(BaseModel):
    """A resolved proposal."""

    proposal: ProposalPublic


class AcceptPublic(BaseModel):
    """An accepted proposal and the annotation it became."""

    proposal: ProposalPublic
    annotation: dict[str, Any]


class RunListPublic(BaseModel):
    """A project's inference runs, newest first."""

    project: str
    runs: list[dict[str, Any]]


class RankingPublic(BaseModel):
    """Open tasks by score, highest first."""

    project: str
    active_learning: bool
    tasks: list[dict[str, Any]]


class TrackingPublic(BaseModel):
    """Acceptance and edit size of the drafts, per model version and per label."""

    project: str
    preannotation: bool
    models: list[dict[str, Any]]
    labels: list[dict[str, Any]]
