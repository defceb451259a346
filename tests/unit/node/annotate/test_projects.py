"""Guideline versions and projects: immutability, queries, reader checks."""

from __future__ import annotations

import pytest

from node.annotate import AnnotationService, ProjectSpec, SeriesQuery
from node.errors import GuidelineConflictError, NotFoundError, ProjectExistsError, ProjectSetupError
from node.runtime import NodeRuntime
from shared.schemas import Guideline
from tests.unit.node.annotate.conftest import World, ingest_phantom


def spec(**changes: object) -> ProjectSpec:
    base: dict[str, object] = {
        "name": "p",
        "guideline_name": "lung-nodule",
        "guideline_version": "1.0",
        "query": SeriesQuery(modality="CT"),
        "readers": ("alice", "bob"),
        "readers_per_task": 2,
    }
    base.update(changes)
    return ProjectSpec(**base)  # type: ignore[arg-type]


def test_guideline_versions_are_immutable(world: World, example_guideline: Guideline) -> None:
    version, created = world.service.guidelines.load(example_guideline, loaded_by="admin")
    assert not created and version.sha256 == example_guideline.sha256
    changed = example_guideline.model_copy(update={"title": "Changed"})
    with pytest.raises(GuidelineConflictError, match="new version"):
        world.service.guidelines.load(changed, loaded_by="admin")
    newer, created = world.service.guidelines.load(
        changed.model_copy(update={"version": "1.1"}), loaded_by="admin"
    )
    assert created and newer.version == "1.1"
    assert [v.version for v in world.service.guidelines.list()] == ["1.0", "1.1"]
    with pytest.raises(NotFoundError, match="load it first"):
        world.service.guidelines.get("lung-nodule", "9")


def test_project_refusals(world: World) -> None:
    projects = world.service.projects
    with pytest.raises(ProjectExistsError):
        projects.create(spec(name="lung"), created_by="admin")
    with pytest.raises(ProjectSetupError, match="no stored series matches"):
        projects.create(spec(query=SeriesQuery(modality="MR")), created_by="admin")
    with pytest.raises(ProjectSetupError, match="readers_per_task is 3"):
        projects.create(spec(readers_per_task=3), created_by="admin")
    with pytest.raises(ProjectSetupError, match="listed twice"):
        projects.create(spec(readers=("a", "a")), created_by="admin")
    with pytest.raises(ProjectSetupError, match="not a date"):
        projects.create(spec(query=SeriesQuery(study_date_from="yesterday")), created_by="admin")
    with pytest.raises(NotFoundError):
        projects.create(spec(guideline_version="7"), created_by="admin")
    with pytest.raises(NotFoundError):
        projects.get("nope")


def test_queries_match_dates_and_descriptions(world: World) -> None:
    projects = world.service.projects
    assert projects.create(spec(name="all", query=SeriesQuery()), created_by="a").task_count == 1
    far = SeriesQuery(study_date_from="2999-01-01")
    with pytest.raises(ProjectSetupError):
        projects.create(spec(name="future", query=far), created_by="a")
    with pytest.raises(ProjectSetupError):
        projects.create(spec(name="d", query=SeriesQuery(series_description="zz*")), created_by="a")
    found = projects.create(
        spec(name="star", query=SeriesQuery(series_description="*")), created_by="a"
    )
    assert found.task_count == 1
    assert [p.name for p in projects.list()][:1] == ["star"]
    assert projects.get("star").readers == ("alice", "bob")


def test_readers_must_be_users_when_the_node_knows_users(
    runtime: NodeRuntime, example_guideline: Guideline
) -> None:
    ingest_phantom(runtime)
    service = AnnotationService(runtime.engine, runtime.store, user_exists=lambda u: u == "alice")
    service.guidelines.load(example_guideline, loaded_by="admin")
    with pytest.raises(ProjectSetupError, match="no user named bob"):
        service.projects.create(spec(), created_by="admin")
