"""Quality dashboard fixtures: hand-built records, and a real project read by three readers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from node.annotate import AnnotationService, ProjectSpec, SeriesQuery
from node.quality import PairResult, ProjectData, ReaderAnnotation, TaskState
from node.runtime import NodeRuntime
from shared.formats.rle import rle_encode
from shared.schemas import Guideline, load_guideline
from tests.unit.node.annotate.conftest import COLUMNS, EXAMPLE, ROWS, ingest_phantom

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
VERSION = "lung-nodule@1.0"


@pytest.fixture
def guideline() -> Guideline:
    return load_guideline(EXAMPLE)


def pair(
    task_id: int,
    label: str,
    kind: str,
    value: float,
    readers: tuple[str, str] = ("alice", "bob"),
    *,
    at: datetime = T0,
    metric: str = "",
    version: str = VERSION,
    **detail: Any,
) -> PairResult:
    metrics = {"mask": "dice", "classification": "agreement"}
    return PairResult(
        task_id=task_id,
        round=1,
        label=label,
        kind=kind,
        metric=metric or metrics.get(kind, "f1"),
        value=value,
        reader_a=readers[0],
        reader_b=readers[1],
        detail=detail,
        guideline_version=version,
        measured_at=at,
    )


def task(
    task_id: int,
    readers: Sequence[str] = ("alice", "bob"),
    *,
    status: str = "consensus",
    completed_at: datetime | None = T0,
) -> TaskState:
    return TaskState(task_id, status, 1, tuple(readers), (), T0, completed_at)


def annotation(
    annotation_id: int,
    task_id: int,
    reader: str,
    label: str,
    kind: str,
    geometry: Mapping[str, Any] | None = None,
    *,
    confidence: int | None = 4,
    cannot_assess: bool = False,
) -> ReaderAnnotation:
    payload: dict[str, Any] = {
        "label": label,
        "kind": kind,
        "confidence": confidence,
        "cannot_assess": cannot_assess,
        "geometry": dict(geometry or {}),
    }
    return ReaderAnnotation(annotation_id, task_id, reader, label, kind, payload, T0)


def project(guideline: Guideline, **parts: Any) -> ProjectData:
    return ProjectData(name="lung", guideline=guideline, guidelines={VERSION: guideline}, **parts)


def disc(cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:ROWS, :COLUMNS]
    return np.asarray((xx - cx) ** 2 + (yy - cy) ** 2 <= r * r)


def mask_payload(slices: Mapping[int, np.ndarray], confidence: int = 4) -> dict[str, Any]:
    return {
        "label": "nodule-mask",
        "kind": "mask",
        "confidence": confidence,
        "geometry": {"slices": {str(k): dict(rle_encode(v)) for k, v in slices.items()}},
    }


def rads_payload(value: str, confidence: int = 4) -> dict[str, Any]:
    return {
        "label": "lung-rads",
        "kind": "classification",
        "confidence": confidence,
        "geometry": {"value": value},
    }


def box_payload(x0: float, y0: float, size: float = 20, slice_: int = 1) -> dict[str, Any]:
    return {
        "label": "nodule-box",
        "kind": "box",
        "confidence": 4,
        "geometry": {"slice": slice_, "x0": x0, "y0": y0, "x1": x0 + size, "y1": y0 + size},
    }


READERS = ("alice", "bob", "carol")


@dataclass
class ReadProject:
    runtime: NodeRuntime
    service: AnnotationService
    guideline: Guideline
    task_ids: list[int]
    masks: dict[tuple[int, str], np.ndarray]
    rads: dict[tuple[int, str], str]


# Per task: each reader's disc centre shift, radius and Lung-RADS category. carol
# wanders off on masks and disagrees on categories; alice and bob agree closely.
PLAN: list[dict[str, tuple[float, float, str]]] = [
    {"alice": (0, 10, "2"), "bob": (1, 10, "2"), "carol": (9, 8, "4A")},
    {"alice": (0, 8, "3"), "bob": (0, 9, "3"), "carol": (10, 8, "1")},
    {"alice": (1, 12, "4A"), "bob": (0, 12, "4A"), "carol": (-9, 10, "4A")},
]


@pytest.fixture
def read_project(runtime: NodeRuntime, guideline: Guideline) -> ReadProject:
    """Three phantom series read by alice, bob and carol (masks, boxes, Lung-RADS)."""
    for seed in range(len(PLAN)):
        ingest_phantom(runtime, seed=seed)
    service = AnnotationService(runtime.engine, runtime.store, audit=runtime.audit)
    service.guidelines.load(guideline, loaded_by="admin")
    service.projects.create(
        ProjectSpec(
            name="lung",
            guideline_name=guideline.name,
            guideline_version=guideline.version,
            query=SeriesQuery(modality="CT"),
            readers=READERS,
            readers_per_task=3,
        ),
        created_by="admin",
    )
    task_ids = sorted(i.task.id for i in service.tasks.worklist("alice").items)
    masks: dict[tuple[int, str], np.ndarray] = {}
    rads: dict[tuple[int, str], str] = {}
    for task_id, plan in zip(task_ids, PLAN, strict=True):
        for reader, (shift, radius, category) in plan.items():
            drawn = {1: disc(32 + shift, 32, radius), 2: disc(32 + shift, 32, radius - 2)}
            masks[(task_id, reader)] = np.stack([drawn[1], drawn[2]])
            rads[(task_id, reader)] = category
            service.revisions.create(task_id, reader, mask_payload(drawn))
            service.revisions.create(task_id, reader, rads_payload(category))
            service.revisions.create(task_id, reader, box_payload(22 + shift, 22))
        for reader in plan:
            service.tasks.complete(task_id, reader)
    return ReadProject(runtime, service, guideline, task_ids, masks, rads)
