"""A series stored as one multi-frame instance exports and imports slice by slice (its frames)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest

from node.dicom.ingest import IngestStatus
from node.export import ProjectExporter, SegImporter, load_project
from node.runtime import NodeRuntime
from shared.formats import read_segmentation, rle_decode, write_segmentation
from tests.unit.node.export.conftest import SLICES, World, _fast_hasher, build_world, disc


@pytest.fixture
def world(runtime: NodeRuntime) -> World:
    runtime.users.hasher = _fast_hasher()
    return build_world(runtime, complete=True, multiframe=True)


def export(world: World, fmt: str, out: Path) -> dict[str, dict]:
    manifest = ProjectExporter(world.runtime.engine, world.runtime.store).export(
        "lung", fmt, out, actor="t"
    )
    assert manifest.skipped == ()
    return {f.who: json.loads(json.dumps(f.__dict__, default=list)) for f in manifest.files}


def test_slices_are_frames(world: World) -> None:
    frames = world.frames()
    assert sorted(frames) == list(range(1, SLICES + 1))  # type: ignore[type-var]
    assert len({ds.SOPInstanceUID for ds in world.stored_headers()}) == 1


def test_seg_references_the_frames(world: World, tmp_path: Path) -> None:
    files = export(world, "dicom-seg", tmp_path / "out")
    seg = pydicom.dcmread(tmp_path / "out" / files["alice"]["path"])
    content = read_segmentation(seg)
    by_frame = content.segments["nodule-mask"].by_source_frame()
    uid = world.stored_headers()[0].SOPInstanceUID
    frames = world.frames()
    assert set(by_frame) == {(uid, frames[1]), (uid, frames[2])}
    np.testing.assert_array_equal(by_frame[(uid, frames[1])], disc(30, 30, 8))


def test_nifti_follows_the_frame_positions(world: World, tmp_path: Path) -> None:
    files = export(world, "nifti", tmp_path / "out")
    image = nib.load(tmp_path / "out" / files["bob"]["path"])
    task = world.service.tasks.record(world.task_id)
    x, y, z = task.slices[0].position  # type: ignore[misc]
    np.testing.assert_allclose(image.affine @ [0, 0, 0, 1], [-x, -y, z, 1])
    assert image.shape == (64, 64, SLICES)


def test_sr_and_coco_name_the_frames(world: World, tmp_path: Path) -> None:
    files = export(world, "dicom-sr", tmp_path / "sr")
    report = pydicom.dcmread(tmp_path / "sr" / files["alice"]["path"])
    text = str(report)
    assert "Referenced Frame Number" in text
    files = export(world, "coco", tmp_path / "coco")
    document = json.loads((tmp_path / "coco" / files["alice"]["path"]).read_text())
    names = [image["file_name"] for image in document["images"]]
    assert all("/frames/" in name for name in names) and len(set(names)) == SLICES


def test_a_seg_on_the_frames_is_imported(runtime: NodeRuntime) -> None:
    runtime.users.hasher = _fast_hasher()
    world = build_world(runtime, complete=False, multiframe=True)
    masks = np.zeros((SLICES, 64, 64), bool)
    masks[3] = disc(20, 22, 5)
    seg = write_segmentation(
        world.stored_headers(),
        {"nodule-mask": masks},
        series_description="Slicer",
        content_creator="alice",
        frames=world.frames(),
    )
    buffer = io.BytesIO()
    seg.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    importer = SegImporter(
        runtime.engine, runtime.deidentifier.pseudonymize_uid, runtime.annotation.revisions
    )
    outcome = importer.ingest(data, "alice", lambda: runtime.ingest.ingest_bytes(data, source="t"))
    assert outcome.status is IngestStatus.STORED, outcome
    task = load_project(runtime.engine, "lung").tasks[0]
    alice = next(c for c in task.contributions if c.who == "alice")
    (mask,) = [p for p in alice.payloads if p["kind"] == "mask"]
    assert list(mask["geometry"]["slices"]) == ["3"]
    np.testing.assert_array_equal(rle_decode(mask["geometry"]["slices"]["3"]), disc(20, 22, 5))
