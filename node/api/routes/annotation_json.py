"""JSON views of the annotation domain's records, shared by its routes.

The domain returns frozen records; these functions decide what of them a
response shows (and so what blinding hides): routes stay parse → call → return.
"""

from __future__ import annotations

from typing import Any

from node.annotate import (
    AgreementFigure,
    AnnotationRecord,
    ConsensusRecord,
    GuidelineVersion,
    ProjectRecord,
    TaskRecord,
    TaskView,
    WorklistItem,
)
from node.annotate.adjudication import AdjudicationCase
from node.annotate.review import ReviewItem

__all__ = [
    "adjudication_json",
    "agreement_json",
    "annotation_json",
    "consensus_json",
    "guideline_json",
    "project_json",
    "review_item_json",
    "task_json",
    "task_summary_json",
    "task_view_json",
    "worklist_item_json",
]


def guideline_json(version: GuidelineVersion, *, full: bool = True) -> dict[str, Any]:
    """A guideline version: identity, hash, and (when ``full``) its content."""
    data: dict[str, Any] = {
        "name": version.name,
        "version": version.version,
        "title": version.guideline.title,
        "sha256": version.sha256,
        "loaded_by": version.loaded_by,
        "loaded_at": version.loaded_at.isoformat(),
    }
    if full:
        data["guideline"] = version.guideline.model_dump(mode="json")
    return data


def project_json(project: ProjectRecord) -> dict[str, Any]:
    """A project with its task count and status counts."""
    return {
        "name": project.name,
        "guideline": {"name": project.guideline_name, "version": project.guideline_version},
        "readers_per_task": project.readers_per_task,
        "query": project.query,
        "readers": list(project.readers),
        "reviewers": list(project.reviewers),
        "task_count": project.task_count,
        "status_counts": project.status_counts,
        "created_by": project.created_by,
        "created_at": project.created_at.isoformat(),
    }


def annotation_json(annotation: AnnotationRecord) -> dict[str, Any]:
    """An annotation at its head revision."""
    return annotation.to_json()


def task_summary_json(task: TaskRecord, username: str | None = None) -> dict[str, Any]:
    """A task without slices or annotations; ``my_*`` fields for ``username``."""
    part = task.part(username) if username else None
    return {
        "id": task.id,
        "project": task.project,
        "series_instance_uid": task.series_instance_uid,
        "study_instance_uid": task.study_instance_uid,
        "modality": task.modality,
        "description": task.description,
        "slices": len(task.slices),
        "status": task.status.value,
        "priority": task.priority,
        "round": task.round,
        "my_status": part.status.value if part else None,
        "review_status": part.review_status.value if part else None,
        "review_reason": part.review_reason if part else "",
    }


def task_json(task: TaskRecord, username: str | None = None) -> dict[str, Any]:
    """A task summary with its readers' parts (for overseers)."""
    return {
        **task_summary_json(task, username),
        "readers": [
            {
                "username": p.username,
                "status": p.status.value,
                "review_status": p.review_status.value,
                "review_reason": p.review_reason,
                "reviewed_by": p.reviewed_by,
                "completed_at": p.completed_at.isoformat() if p.completed_at else None,
            }
            for p in task.readers
        ],
    }


def task_view_json(view: TaskView, username: str) -> dict[str, Any]:
    """The task as its caller may see it: slices, guideline, (blinded) annotations."""
    base = (
        task_summary_json(view.task, username) if view.blinded else task_json(view.task, username)
    )
    return {
        **base,
        "slices": [s.to_json() for s in view.task.slices],
        "guideline": guideline_json(view.guideline),
        "annotations": [annotation_json(a) for a in view.annotations],
        "blinded": view.blinded,
    }


def worklist_item_json(item: WorklistItem) -> dict[str, Any]:
    """One worklist line."""
    return {
        **task_summary_json(item.task),
        "my_status": item.my_status.value,
        "review_status": item.review_status.value,
        "review_reason": item.review_reason,
        "annotations": item.my_annotations,
    }


def review_item_json(item: ReviewItem) -> dict[str, Any]:
    """One reader part waiting for review."""
    return {
        "task": task_summary_json(item.task),
        "task_id": item.task.id,
        "project": item.task.project,
        "reader": item.reader,
        "completed_at": item.completed_at.isoformat() if item.completed_at else None,
    }


def consensus_json(task: TaskRecord, consensus: list[ConsensusRecord]) -> dict[str, Any]:
    """A task's consensus, one entry per label."""
    return {
        "task_id": task.id,
        "status": task.status.value,
        "round": task.round,
        "labels": [c.to_json() for c in consensus],
    }


def agreement_json(figures: list[AgreementFigure] | tuple[AgreementFigure, ...]) -> list[Any]:
    """Agreement figures."""
    return [f.to_json() for f in figures]


def adjudication_json(case: AdjudicationCase) -> dict[str, Any]:
    """Every reader's annotations side by side, with the round's agreement figures."""
    return {
        **task_json(case.task),
        "slices": [s.to_json() for s in case.task.slices],
        "guideline": guideline_json(case.guideline),
        "readers_annotations": {
            reader: [annotation_json(a) for a in annotations]
            for reader, annotations in case.annotations_by_reader.items()
        },
        "agreement": agreement_json(case.agreement),
    }
