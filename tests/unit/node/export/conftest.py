"""A node with a phantom CT series, a project read by alice and bob, and their annotations."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from node.annotate import AnnotationService, ProjectSpec, SeriesQuery, TaskStatus
from node.auth.roles import Role
from node.runtime import NodeRuntime
from shared.formats import derived_uid, rle_encode
from shared.phantoms import (
    SITE_STYLES,
    PhantomSeries,
    PhantomSpec,
    dataset_to_bytes,
    generate_series,
)
from shared.schemas import Guideline, load_guideline

EXAMPLE = Path(__file__).parents[4] / "docs" / "examples" / "guideline-lung-nodule.yaml"
ROWS = COLUMNS = 64
SLICES = 4
READERS = ("alice", "bob")


def guideline() -> Guideline:
    base = load_guideline(EXAMPLE)
    data = base.model_dump(mode="json")
    data["labels"].append(
        {
            "name": "nodule-outline",
            "kind": "polygon",
            "definition": "The nodule's outline on its largest slice.",
            "adjudication_threshold": 0.0,
        }
    )
    for label in data["labels"]:
        label["adjudication_threshold"] = 0.0  # always reach a computed consensus
    return Guideline.model_validate(data)


def disc(cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:ROWS, :COLUMNS]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2


def mask_payload(masks: dict[int, np.ndarray], label: str = "nodule-mask") -> dict[str, Any]:
    return {
        "label": label,
        "kind": "mask",
        "confidence": 4,
        "geometry": {"slices": {str(k): dict(rle_encode(m)) for k, m in masks.items()}},
    }


def reader_payloads(shift: float) -> list[dict[str, Any]]:
    return [
        mask_payload({1: disc(30 + shift, 30, 8), 2: disc(30 + shift, 30, 6)}),
        {
            "label": "nodule-box",
            "kind": "box",
            "confidence": 4,
            "geometry": {"slice": 1, "x0": 20 + shift, "y0": 20, "x1": 40 + shift, "y1": 40},
        },
        {
            "label": "nodule-outline",
            "kind": "polygon",
            "geometry": {"slice": 1, "points": [[20, 20], [40 + shift, 22], [30, 40]]},
        },
        {
            "label": "nodule-centre",
            "kind": "keypoint",
            "geometry": {"slice": 1, "x": 30.5, "y": 30},
        },
        {
            "label": "nodule-diameter",
            "kind": "length",
            "geometry": {"slice": 1, "x0": 22, "y0": 30, "x1": 38 + shift, "y1": 30},
        },
        {"label": "lung-rads", "kind": "classification", "geometry": {"value": "3"}},
    ]


@dataclass
class World:
    runtime: NodeRuntime
    service: AnnotationService
    phantom: PhantomSeries
    task_id: int
    series_uid: str
    study_uid: str

    def stored_headers(self) -> list[Dataset]:
        """The stored (de-identified) instances, one per slice in the task's slice order."""
        task = self.service.tasks.record(self.task_id)
        read: dict[str, Dataset] = {}
        for ref in task.slices:
            if ref.sop_instance_uid not in read:
                record = self.runtime.store.instance(
                    ref.sop_instance_uid, include_quarantined=False
                )
                read[ref.sop_instance_uid] = pydicom.dcmread(
                    io.BytesIO(self.runtime.store.read(record))
                )
        return [read[ref.sop_instance_uid] for ref in task.slices]

    def frames(self) -> list[int | None]:
        """The 1-based frame of every slice (``None`` for single-frame instances)."""
        return [ref.frame for ref in self.service.tasks.record(self.task_id).slices]


def enhanced_ct(phantom: PhantomSeries) -> bytes:
    """The phantom as one multi-frame (Legacy Converted Enhanced CT) instance."""
    converted = hd.legacy.LegacyConvertedEnhancedCTImage(
        legacy_datasets=list(phantom.datasets()),
        series_instance_uid=derived_uid("enhanced", phantom.series_instance_uid),
        series_number=7,
        sop_instance_uid=derived_uid("enhanced-instance", phantom.series_instance_uid),
        instance_number=1,
    )
    buffer = io.BytesIO()
    converted.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def build_world(runtime: NodeRuntime, *, complete: bool = True, multiframe: bool = False) -> World:
    spec = PhantomSpec(
        modality="CT",
        rows=ROWS,
        columns=COLUMNS,
        slices=SLICES,
        seed=5,
        style=SITE_STYLES["reference"],
    )
    phantom = generate_series(spec)
    series_uid = study_uid = ""
    files = (
        [enhanced_ct(phantom)]
        if multiframe
        else [dataset_to_bytes(ds) for ds in phantom.datasets()]
    )
    for data in files:
        outcome = runtime.ingest.ingest_bytes(data, source="test")
        assert outcome.accepted, outcome
        series_uid = outcome.stored_series_instance_uid or ""
        study_uid = outcome.stored_study_instance_uid or ""
    for name in READERS:
        runtime.users.create(name, "correct horse battery", Role.ANNOTATOR)
    service = runtime.annotation
    rules = guideline()
    service.guidelines.load(rules, loaded_by="admin")
    service.projects.create(
        ProjectSpec(
            name="lung",
            guideline_name=rules.name,
            guideline_version=rules.version,
            query=SeriesQuery(modality="CT"),
            readers=READERS,
            readers_per_task=2,
            reviewers=(),
        ),
        created_by="admin",
    )
    task_id = service.tasks.worklist("alice").items[0].task.id
    for shift, reader in zip((0.0, 2.0), READERS, strict=True):
        for payload in reader_payloads(shift):
            service.revisions.create(task_id, reader, payload)
        if complete:
            service.tasks.complete(task_id, reader)
    if complete:
        assert service.tasks.record(task_id).status is TaskStatus.CONSENSUS
    return World(runtime, service, phantom, task_id, series_uid, study_uid)


@pytest.fixture
def world(runtime: NodeRuntime) -> World:
    runtime.users.hasher = _fast_hasher()
    return build_world(runtime)


def _fast_hasher():  # type: ignore[no-untyped-def]
    from node.auth import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1)
