"""Response models of the annotation API (the request models live beside their routes).

They document the responses in OpenAPI and check every response against its
shape. Annotation payloads are validated on the way in by
``shared.schemas.parse_annotation`` (so that a malformed payload is a typed
422 naming the field); on the way out their ``geometry`` is kept as sent.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AdjudicationCasePublic",
    "AdjudicationQueuePublic",
    "AgreementFigurePublic",
    "AgreementPublic",
    "AnnotationPublic",
    "ConsensusPublic",
    "DiffPublic",
    "GuidelineListPublic",
    "GuidelineLoaded",
    "GuidelinePublic",
    "ProjectListPublic",
    "ProjectPublic",
    "ReviewQueuePublic",
    "RevisionListPublic",
    "RevisionPublic",
    "TaskDetailPublic",
    "TaskPublic",
    "TaskSummaryPublic",
    "WorklistPublic",
]


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class GuidelineSummary(_Out):
    """A loaded guideline version without its content."""

    name: str
    version: str
    title: str
    sha256: str
    loaded_by: str
    loaded_at: str


class GuidelineLoaded(GuidelineSummary):
    """Answer to a load: ``created`` is false when the identical version was there."""

    created: bool


class GuidelinePublic(GuidelineSummary):
    """A guideline version with its full content."""

    guideline: dict[str, Any]


class GuidelineListPublic(_Out):
    """Every loaded guideline version."""

    guidelines: list[GuidelineSummary]


class GuidelineRefPublic(_Out):
    """Which guideline version a project uses."""

    name: str
    version: str


class ProjectPublic(_Out):
    """An annotation project."""

    name: str
    guideline: GuidelineRefPublic
    readers_per_task: int
    query: dict[str, str]
    readers: list[str]
    reviewers: list[str]
    task_count: int
    status_counts: dict[str, int]
    created_by: str
    created_at: str


class ProjectListPublic(_Out):
    """Every project, newest first."""

    projects: list[ProjectPublic]


class AnnotationPublic(_Out):
    """An annotation at its head revision."""

    annotation_id: int
    task_id: int
    reader: str
    revision: int
    label: str
    kind: str
    confidence: int | None
    comment: str
    cannot_assess: bool
    geometry: dict[str, Any]
    deleted: bool
    guideline_version_id: int
    author: str
    created_at: str
    updated_at: str


class SlicePublic(_Out):
    """One slice of a task, in order along the slice normal."""

    index: int
    sop_instance_uid: str
    rows: int
    columns: int
    pixel_spacing: list[float] | None
    slice_thickness: float | None
    position: list[float] | None
    instance_number: int | None
    frame: int | None


class ReaderPartPublic(_Out):
    """One reader's part of a task (shown to overseers)."""

    username: str
    status: str
    review_status: str
    review_reason: str
    reviewed_by: str | None
    completed_at: str | None


class TaskSummaryPublic(_Out):
    """A task without slices or annotations; ``my_*`` for the caller; ``slices`` is a count."""

    id: int
    project: str
    series_instance_uid: str
    study_instance_uid: str
    modality: str
    description: str
    slices: int
    status: str
    priority: int
    round: int
    my_status: str | None
    review_status: str | None
    review_reason: str


class TaskPublic(TaskSummaryPublic):
    """A task with its readers' parts."""

    readers: list[ReaderPartPublic]


class TaskDetailPublic(TaskSummaryPublic):
    """A task as its caller may see it; ``readers`` is null while blinded."""

    slices: list[SlicePublic]  # type: ignore[assignment]
    readers: list[ReaderPartPublic] | None = None
    guideline: GuidelinePublic
    annotations: list[AnnotationPublic]
    blinded: bool


class WorklistItemPublic(TaskSummaryPublic):
    """One worklist line; ``annotations`` counts the caller's live annotations."""

    my_status: str
    review_status: str
    annotations: int


class ProgressPublic(_Out):
    """How many of the caller's tasks are done."""

    done: int
    total: int


class WorklistPublic(_Out):
    """The caller's worklist."""

    tasks: list[WorklistItemPublic]
    progress: ProgressPublic


class RevisionPublic(_Out):
    """One revision of an annotation."""

    annotation_id: int
    revision: int
    payload: dict[str, Any]
    author: str
    created_at: str
    tombstone: bool
    guideline_version_id: int


class RevisionListPublic(_Out):
    """Every revision of an annotation, oldest first."""

    annotation_id: int
    revisions: list[RevisionPublic]


class ChangePublic(_Out):
    """One changed field between two revisions."""

    path: str
    before: Any = Field(alias="from")
    after: Any = Field(alias="to")


class TombstonePairPublic(_Out):
    """Whether each of the two revisions is a tombstone."""

    before: bool = Field(alias="from")
    after: bool = Field(alias="to")


class DiffPublic(_Out):
    """What changed between two revisions (masks: pixels added and removed per slice)."""

    annotation_id: int
    before: int = Field(alias="from")
    after: int = Field(alias="to")
    tombstone: TombstonePairPublic
    changes: list[ChangePublic]
    mask: dict[str, dict[str, int]] | None = None


class ConsensusLabelPublic(_Out):
    """The consensus of one label and how it was reached."""

    task_id: int
    round: int
    label: str
    method: str
    annotations: list[dict[str, Any]]
    detail: dict[str, Any]
    created_by: str
    created_at: str


class ConsensusPublic(_Out):
    """A task's consensus, one entry per label."""

    task_id: int
    status: str
    round: int
    labels: list[ConsensusLabelPublic]


class AgreementFigurePublic(_Out):
    """One agreement figure (a reader pair, or all readers)."""

    label: str
    kind: str
    metric: str
    value: float | None
    readers: list[str]
    detail: dict[str, Any]


class AgreementPublic(_Out):
    """A task's agreement figures for its current round."""

    task_id: int
    agreement: list[AgreementFigurePublic]


class ReviewItemPublic(_Out):
    """A completed reader part waiting for review."""

    task: TaskSummaryPublic
    task_id: int
    project: str
    reader: str
    completed_at: str | None


class ReviewQueuePublic(_Out):
    """Reader parts waiting for the caller's review."""

    items: list[ReviewItemPublic]


class AdjudicationQueuePublic(_Out):
    """Tasks waiting for adjudication."""

    tasks: list[TaskPublic]


class AdjudicationCasePublic(TaskPublic):
    """Every reader's annotations side by side, with the agreement figures."""

    slices: list[SlicePublic]  # type: ignore[assignment]
    guideline: GuidelinePublic
    readers_annotations: dict[str, list[AnnotationPublic]]
    agreement: list[AgreementFigurePublic]
