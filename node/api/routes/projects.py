"""Annotation projects: create one from a query over stored series, list, read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from node.annotate import ProjectSpec, SeriesQuery
from node.api.deps import Annotator, ProjectManager, Runtime
from node.api.routes.annotation_json import project_json
from node.api.routes.annotation_models import ProjectListPublic, ProjectPublic

router = APIRouter(prefix="/api/projects", tags=["annotation"])


class GuidelineRef(BaseModel):
    """Which guideline version a project uses."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    version: str = Field(min_length=1, max_length=64)


class SeriesQueryIn(BaseModel):
    """Which stored series become tasks; empty fields match everything."""

    model_config = ConfigDict(extra="forbid")

    modality: str = Field(default="", max_length=16)
    study_date_from: str = Field(default="", max_length=10)
    study_date_to: str = Field(default="", max_length=10)
    series_description: str = Field(default="", max_length=64)


class ProjectCreate(BaseModel):
    """A new annotation project."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    guideline: GuidelineRef
    query: SeriesQueryIn = Field(default_factory=SeriesQueryIn)
    readers_per_task: int | None = Field(default=None, ge=1, le=20)
    readers: list[str] = Field(min_length=1, max_length=500)
    reviewers: list[str] = Field(default_factory=list, max_length=500)


@router.post("", status_code=201, response_model=ProjectPublic)
def create_project(
    body: ProjectCreate, runtime: Runtime, manager: ProjectManager
) -> dict[str, Any]:
    """Create a project: one task per matching series, k readers assigned to each."""
    project = runtime.annotation.projects.create(
        ProjectSpec(
            name=body.name,
            guideline_name=body.guideline.name,
            guideline_version=body.guideline.version,
            query=SeriesQuery(**body.query.model_dump()),
            readers=tuple(body.readers),
            readers_per_task=body.readers_per_task,
            reviewers=tuple(body.reviewers),
        ),
        created_by=manager.username,
    )
    return project_json(project)


@router.get("", response_model=ProjectListPublic)
def list_projects(runtime: Runtime, _caller: Annotator) -> dict[str, Any]:
    """Every project, newest first."""
    return {"projects": [project_json(p) for p in runtime.annotation.projects.list()]}


@router.get("/{name}", response_model=ProjectPublic)
def get_project(name: str, runtime: Runtime, _caller: Annotator) -> dict[str, Any]:
    """One project."""
    return project_json(runtime.annotation.projects.get(name))
