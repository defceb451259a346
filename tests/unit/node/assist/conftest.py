"""A node with phantom CT series, the example guideline, two projects and a trained model."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from node.annotate import AnnotationService, ProjectSpec, SeriesQuery
from node.assist import AssistService
from node.assist.models import ModelBundle, bundle_from_bytes
from node.runtime import NodeRuntime
from shared.phantoms import SITE_STYLES, PhantomSpec, dataset_to_bytes, generate_series
from shared.schemas import Guideline, load_guideline
from tests.support.assist_model import train_segmenter
from tests.unit.node.annotate.conftest import EXAMPLE

SIZE = 64
SLICES = 8


def ingest(runtime: NodeRuntime, seed: int) -> str:
    """Ingest a siemens-like CT phantom (the style the model trained on); its series UID."""
    spec = PhantomSpec(
        modality="CT",
        rows=SIZE,
        columns=SIZE,
        slices=SLICES,
        seed=seed,
        style=SITE_STYLES["siemens-like"],
    )
    series_uid = ""
    for ds in generate_series(spec).datasets():
        outcome = runtime.ingest.ingest_bytes(dataset_to_bytes(ds), source="test")
        assert outcome.accepted, outcome
        series_uid = outcome.stored_series_instance_uid or ""
    return series_uid


@pytest.fixture(scope="session")
def bundle() -> ModelBundle:
    """The trained nodule-seg U-Net (trained once per test process)."""
    return bundle_from_bytes(train_segmenter())


@dataclass
class World:
    runtime: NodeRuntime
    annotation: AnnotationService
    assist: AssistService
    guideline: Guideline

    def task(self, project: str, reader: str, index: int = 0) -> int:
        items = self.annotation.tasks.worklist(reader, project=project, sort="id").items
        return items[index].task.id


@pytest.fixture
def world(runtime: NodeRuntime) -> World:
    ingest(runtime, seed=201)
    ingest(runtime, seed=202)
    annotation = AnnotationService(runtime.engine, runtime.store, audit=runtime.audit)
    guideline = load_guideline(EXAMPLE)
    annotation.guidelines.load(guideline, loaded_by="admin")
    for name, readers in (("pair", ("alice", "bob")), ("solo", ("sam",))):
        annotation.projects.create(
            ProjectSpec(
                name=name,
                guideline_name=guideline.name,
                guideline_version=guideline.version,
                query=SeriesQuery(modality="CT"),
                readers=readers,
                readers_per_task=len(readers),
                reviewers=("rita",),
            ),
            created_by="admin",
        )
    return World(runtime, annotation, AssistService(annotation, runtime.store), guideline)
