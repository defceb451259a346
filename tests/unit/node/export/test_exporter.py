from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest

from node.errors import ExportError, NotFoundError
from node.export import ExportFormat, ProjectExporter, Skipped, zip_folder
from node.export.content import Contribution, load_project
from node.export.writers import write_contribution
from node.runtime import NodeRuntime
from shared.formats import read_segmentation
from tests.unit.node.export.conftest import SLICES, World, disc


def export(world: World, fmt: str, out: Path, *, audit: bool = False) -> dict:
    runtime = world.runtime
    exporter = ProjectExporter(
        runtime.engine, runtime.store, audit=runtime.audit if audit else None
    )
    manifest = exporter.export("lung", fmt, out, actor="tester")
    written = json.loads((out / "manifest.json").read_text())
    assert written == manifest.to_json()
    return written


def by_who(manifest: dict) -> dict[str, dict]:
    return {f["who"]: f for f in manifest["files"]}


def test_dicom_seg_per_reader_and_consensus(world: World, tmp_path: Path) -> None:
    manifest = export(world, "dicom-seg", tmp_path / "out")
    files = by_who(manifest)
    assert sorted(files) == ["alice", "bob", "consensus"]
    assert files["consensus"]["consensus_method"] == "staple"
    assert files["alice"]["path"] == f"{world.series_uid}/reader-alice.dcm"
    assert manifest["guideline"] == {"name": "lung-nodule", "version": "1.0"}
    alice = read_segmentation(pydicom.dcmread(tmp_path / "out" / files["alice"]["path"]))
    assert alice.referenced_series_instance_uid == world.series_uid
    assert alice.content_creator == "alice"
    task = world.service.tasks.record(world.task_id)
    masks = alice.segments["nodule-mask"].by_source_instance()
    assert set(masks) == {task.slices[1].sop_instance_uid, task.slices[2].sop_instance_uid}
    np.testing.assert_array_equal(masks[task.slices[1].sop_instance_uid], disc(30, 30, 8))
    consensus = pydicom.dcmread(tmp_path / "out" / files["consensus"]["path"])
    assert consensus.ContentCreatorName == "consensus^"


def test_dicom_sr_holds_the_measurements(world: World, tmp_path: Path) -> None:
    manifest = export(world, "dicom-sr", tmp_path / "out")
    files = by_who(manifest)
    assert sorted(files) == ["alice", "bob", "consensus"]
    assert files["alice"]["annotations"] == 5  # box, polygon, keypoint, length, classification
    assert files["alice"]["labels"] == [
        "lung-rads",
        "nodule-box",
        "nodule-centre",
        "nodule-diameter",
        "nodule-outline",
    ]
    report = pydicom.dcmread(tmp_path / "out" / files["alice"]["path"])
    assert report.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"
    assert report.SeriesDescription == "Harmonia SR reader alice"


def test_nifti_has_the_series_shape(world: World, tmp_path: Path) -> None:
    manifest = export(world, "nifti", tmp_path / "out")
    files = by_who(manifest)
    image = nib.load(tmp_path / "out" / files["bob"]["path"])
    assert image.shape == (64, 64, SLICES)
    data = np.asarray(image.dataobj)
    np.testing.assert_array_equal(data[:, :, 1].T == 1, disc(32, 30, 8))
    sidecar = tmp_path / "out" / files["bob"]["path"].replace(".nii.gz", ".json")
    assert json.loads(sidecar.read_text())["labels"] == {"1": "nodule-mask"}


def test_coco_holds_everything(world: World, tmp_path: Path) -> None:
    manifest = export(world, "coco", tmp_path / "out")
    files = by_who(manifest)
    document = json.loads((tmp_path / "out" / files["alice"]["path"]).read_text())
    assert len(document["images"]) == SLICES
    kinds = sorted(a["attributes"]["kind"] for a in document["annotations"])
    assert kinds == ["box", "keypoint", "length", "mask", "mask", "polygon"]
    assert document["classifications"][0]["value"] == "3"
    names = [c["name"] for c in document["categories"]]
    assert "nodule-outline" in names and "lung-rads" in names


def test_open_tasks_export_their_readers_only(runtime: NodeRuntime, tmp_path: Path) -> None:
    from tests.unit.node.export.conftest import _fast_hasher, build_world

    runtime.users.hasher = _fast_hasher()
    world = build_world(runtime, complete=False)
    manifest = export(world, "dicom-seg", tmp_path / "out")
    assert sorted(by_who(manifest)) == ["alice", "bob"]


def test_a_contributor_without_anything_the_format_holds_is_skipped(
    world: World, tmp_path: Path
) -> None:
    content = load_project(world.runtime.engine, "lung")
    boxes_only = Contribution(
        "carol",
        (
            {
                "label": "nodule-box",
                "kind": "box",
                "geometry": {"slice": 0, "x0": 1, "y0": 1, "x1": 5, "y1": 5},
            },
        ),
    )
    result = write_contribution(
        ExportFormat.DICOM_SEG, content.tasks[0], boxes_only, content.labels, tmp_path, list
    )
    assert result == Skipped(
        content.tasks[0].task_id, world.series_uid, "carol", "no mask annotation"
    )


def test_export_is_audited(world: World, tmp_path: Path) -> None:
    export(world, "coco", tmp_path / "out", audit=True)
    entries = [e for e in world.runtime.audit.entries() if e.action == "exported"]
    assert len(entries) == 1
    assert entries[0].actor == "tester"
    assert entries[0].target_id == "lung"


def test_refusals(world: World, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "other.txt").write_text("x")
    exporter = ProjectExporter(world.runtime.engine, world.runtime.store)
    with pytest.raises(ExportError, match="empty folder"):
        exporter.export("lung", "coco", busy, actor="t")
    with pytest.raises(NotFoundError, match="no project"):
        exporter.export("nope", "coco", tmp_path / "new", actor="t")
    with pytest.raises(ValueError):
        exporter.export("lung", "png", tmp_path / "new2", actor="t")


def test_zip_folder(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c.txt").write_text("c")
    (tmp_path / "manifest.json").write_text("{}")
    with zipfile.ZipFile(io.BytesIO(zip_folder(tmp_path))) as archive:
        assert archive.namelist() == ["a/b/c.txt", "manifest.json"]
