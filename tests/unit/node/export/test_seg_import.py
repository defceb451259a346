"""A reader's DICOM SEG becomes mask annotation revisions (SegImporter, no HTTP)."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from node.dicom.ingest import IngestOutcome, IngestStatus
from node.export import SegImporter, is_segmentation, load_project
from node.runtime import NodeRuntime
from shared.formats import rle_decode, write_segmentation
from tests.unit.node.export.conftest import SLICES, World, _fast_hasher, build_world, disc


@pytest.fixture
def open_world(runtime: NodeRuntime) -> World:
    runtime.users.hasher = _fast_hasher()
    return build_world(runtime, complete=False)


def seg_bytes(
    sources: list[Dataset], masks: dict[str, np.ndarray], creator: str = "alice"
) -> bytes:
    seg = write_segmentation(
        sources, masks, series_description="Slicer segmentation", content_creator=creator
    )
    buffer = io.BytesIO()
    seg.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def volume(*frames: tuple[int, np.ndarray]) -> np.ndarray:
    result = np.zeros((SLICES, 64, 64), bool)
    for index, mask in frames:
        result[index] = mask
    return result


def importer(world: World) -> SegImporter:
    runtime = world.runtime
    return SegImporter(
        runtime.engine, runtime.deidentifier.pseudonymize_uid, runtime.annotation.revisions
    )


def store_of(world: World, data: bytes):  # type: ignore[no-untyped-def]
    return lambda: world.runtime.ingest.ingest_bytes(data, source="stow:test")


def masks_of(world: World, reader: str) -> list[dict]:
    task = load_project(world.runtime.engine, "lung").tasks[0]
    contribution = next(c for c in task.contributions if c.who == reader)
    return [p for p in contribution.payloads if p["kind"] == "mask"]


def test_seg_from_the_node_series_revises_the_readers_mask(open_world: World) -> None:
    world = open_world
    data = seg_bytes(world.stored_headers(), {"nodule-mask": volume((0, disc(20, 20, 5)))})
    assert is_segmentation(data)
    outcome = importer(world).ingest(data, "alice", store_of(world, data))
    assert outcome.status is IngestStatus.STORED, outcome
    masks = masks_of(world, "alice")
    assert len(masks) == 1  # a new revision of alice's mask, not a second annotation
    assert list(masks[0]["geometry"]["slices"]) == ["0"]
    np.testing.assert_array_equal(rle_decode(masks[0]["geometry"]["slices"]["0"]), disc(20, 20, 5))
    assert "imported from DICOM SEG (Slicer segmentation)" in masks[0]["comment"]
    assert world.runtime.store.contains(outcome.stored_sop_instance_uid or "")
    # sending it again stores nothing new and imports nothing twice
    again = importer(world).ingest(data, "alice", store_of(world, data))
    assert again.status is IngestStatus.DUPLICATE
    assert len(masks_of(world, "alice")) == 1


def test_seg_referencing_the_original_uids_is_resolved(open_world: World) -> None:
    world = open_world
    originals = list(world.phantom.datasets())
    data = seg_bytes(originals, {"nodule-mask": volume((3, disc(40, 40, 4)))}, creator="bob")
    outcome = importer(world).ingest(data, "bob", store_of(world, data))
    assert outcome.status is IngestStatus.STORED, outcome
    slices = masks_of(world, "bob")[0]["geometry"]["slices"]
    assert list(slices) == ["3"]


def test_frames_without_source_references_are_placed_by_position(open_world: World) -> None:
    world = open_world
    seg = pydicom.dcmread(
        io.BytesIO(seg_bytes(world.stored_headers(), {"nodule-mask": volume((2, disc(30, 30, 6)))}))
    )
    for item in seg.PerFrameFunctionalGroupsSequence:
        if "DerivationImageSequence" in item:
            del item.DerivationImageSequence
    plan = importer(world).plan(seg, "alice")
    assert list(plan.payloads[0]["geometry"]["slices"]) == ["2"]


def test_unknown_label_is_refused_and_nothing_is_stored(open_world: World) -> None:
    world = open_world
    data = seg_bytes(world.stored_headers(), {"liver": volume((0, disc(20, 20, 5)))})
    stored: list[IngestOutcome] = []

    def store() -> IngestOutcome:
        stored.append(world.runtime.ingest.ingest_bytes(data, source="t"))
        return stored[-1]

    outcome = importer(world).ingest(data, "alice", store)
    assert outcome.status is IngestStatus.REJECTED
    assert outcome.failure_reason == 0x0110
    assert "'liver'" in (outcome.message or "")
    assert "nodule-mask" in (outcome.message or "")
    assert stored == []


def test_series_that_is_not_the_senders_task(open_world: World) -> None:
    world = open_world
    data = seg_bytes(world.stored_headers(), {"nodule-mask": volume((0, disc(20, 20, 5)))})
    refused = importer(world).ingest(data, "carol", store_of(world, data))
    assert refused.status is IngestStatus.REJECTED
    assert "not a task of 'carol'" in (refused.message or "")
    kept = importer(world).ingest(data, "carol", store_of(world, data), store_if_not_a_task=True)
    assert kept.status is IngestStatus.STORED


def test_a_completed_readers_seg_is_refused(runtime: NodeRuntime) -> None:
    runtime.users.hasher = _fast_hasher()
    world = build_world(runtime, complete=True)
    data = seg_bytes(world.stored_headers(), {"nodule-mask": volume((0, disc(20, 20, 5)))})
    outcome = importer(world).ingest(data, "alice", store_of(world, data))
    assert outcome.status is IngestStatus.REJECTED
    assert "has completed task" in (outcome.message or "")
    assert not world.runtime.store.contains(
        world.runtime.deidentifier.pseudonymize_uid(
            pydicom.dcmread(io.BytesIO(data)).SOPInstanceUID
        )
    )


def test_a_refusal_after_storing_is_reported(open_world: World) -> None:
    world = open_world
    data = seg_bytes(world.stored_headers(), {"nodule-mask": volume((0, disc(20, 20, 5)))})
    plan = importer(world).plan(data, "alice")
    world.service.tasks.complete(world.task_id, "alice")  # completed between plan and apply
    from node.errors import SegmentationImportError

    with pytest.raises(SegmentationImportError, match="label 'nodule-mask'"):
        importer(world).apply(plan)


def test_not_a_segmentation(open_world: World) -> None:
    assert not is_segmentation(b"not dicom at all")
    header = open_world.stored_headers()[0]
    buffer = io.BytesIO()
    header.save_as(buffer, enforce_file_format=True)
    assert not is_segmentation(buffer.getvalue())
