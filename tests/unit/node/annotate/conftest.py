"""A node with a small phantom CT series, the example guideline and an annotation service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from node.annotate import AnnotationService, ProjectSpec, SeriesQuery
from node.auth.roles import ROLE_PERMISSIONS, Principal, Role
from node.runtime import NodeRuntime
from shared.phantoms import SITE_STYLES, PhantomSpec, dataset_to_bytes, generate_series
from shared.schemas import Guideline, load_guideline

EXAMPLE = Path(__file__).parents[4] / "docs" / "examples" / "guideline-lung-nodule.yaml"
ROWS = COLUMNS = 64
SLICES = 4


def ingest_phantom(runtime: NodeRuntime, *, seed: int = 0, slices: int = SLICES) -> str:
    """Ingest a small CT phantom; returns its stored series UID."""
    spec = PhantomSpec(
        modality="CT",
        rows=ROWS,
        columns=COLUMNS,
        slices=slices,
        seed=seed,
        style=SITE_STYLES["reference"],
    )
    series_uid = ""
    for ds in generate_series(spec).datasets():
        outcome = runtime.ingest.ingest_bytes(dataset_to_bytes(ds), source="test")
        assert outcome.accepted, outcome
        series_uid = outcome.stored_series_instance_uid or ""
    return series_uid


def principal(username: str, role: Role = Role.ANNOTATOR) -> Principal:
    return Principal(username, None, role, ROLE_PERMISSIONS[role], "token")


@dataclass
class World:
    runtime: NodeRuntime
    service: AnnotationService
    guideline: Guideline
    task_id: int

    def save(self, reader: str, payload: dict[str, Any]) -> int:
        return self.service.revisions.create(self.task_id, reader, payload).annotation_id


def guideline_with(**changes: Any) -> Guideline:
    base = load_guideline(EXAMPLE)
    return base.model_copy(update=changes)


@pytest.fixture
def example_guideline() -> Guideline:
    return load_guideline(EXAMPLE)


@pytest.fixture
def service(runtime: NodeRuntime) -> AnnotationService:
    return AnnotationService(runtime.engine, runtime.store, audit=getattr(runtime, "audit", None))


@pytest.fixture
def world(runtime: NodeRuntime, service: AnnotationService, example_guideline: Guideline) -> World:
    ingest_phantom(runtime)
    service.guidelines.load(example_guideline, loaded_by="admin")
    project = service.projects.create(
        ProjectSpec(
            name="lung",
            guideline_name=example_guideline.name,
            guideline_version=example_guideline.version,
            query=SeriesQuery(modality="CT"),
            readers=("alice", "bob"),
            readers_per_task=2,
            reviewers=("rita",),
        ),
        created_by="admin",
    )
    assert project.task_count == 1
    task_id = service.tasks.worklist("alice").items[0].task.id
    return World(runtime, service, example_guideline, task_id)


def box(x0: float = 10, y0: float = 10, x1: float = 30, y1: float = 30, slice_: int = 1) -> dict:
    return {
        "label": "nodule-box",
        "kind": "box",
        "confidence": 4,
        "geometry": {"slice": slice_, "x0": x0, "y0": y0, "x1": x1, "y1": y1},
    }


def rads(value: str) -> dict:
    return {"label": "lung-rads", "kind": "classification", "geometry": {"value": value}}
