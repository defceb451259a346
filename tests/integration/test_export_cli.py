"""``harmonia-node export`` as a real subprocess, every format; DICOM outputs pass dciodvfy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pycocotools.coco import COCO

from node.runtime import open_node
from node.settings import NodeSettings
from shared.formats import read_segmentation
from tests.unit.node.export.conftest import COLUMNS, ROWS, SLICES, _fast_hasher, build_world

DCIODVFY = shutil.which("dciodvfy") or "/usr/bin/dciodvfy"
pytestmark = pytest.mark.integration

# Warnings we accept, for stated reasons: guideline labels without a standard code use our
# private coding scheme, declared in CodingSchemeIdentificationSequence, which dciodvfy does
# not know; and whatever the source instance itself gets (the node's de-identification
# empties StudyDate/StudyTime and gives PatientName a one-component pseudonym, and a SEG or
# SR copies the patient and study from its source).
ACCEPTED_WARNING = "Unrecognized defined term = <99HARMONIA>"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("export-node") / "node"
    with open_node(NodeSettings(data_dir=directory, fsync=False, ingest_workers=0)) as runtime:
        runtime.users.hasher = _fast_hasher()
        world = build_world(runtime, complete=True)
        source = world.stored_headers()[0]
        source.save_as(directory.parent / "source.dcm", enforce_file_format=True)
    return directory


@pytest.fixture(scope="module")
def source_warnings(data_dir: Path) -> set[str]:
    """What dciodvfy says about a stored (de-identified) source instance."""
    return set(dciodvfy(data_dir.parent / "source.dcm")[1])


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def export(data_dir: Path, fmt: str, out: Path) -> dict:
    result = run_cli(
        "export",
        "--data-dir",
        str(data_dir),
        "--project",
        "lung",
        "--format",
        fmt,
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert f"as {fmt}: 3 file(s), 0 left out" in result.stdout
    return json.loads((out / "manifest.json").read_text())


def dciodvfy(path: Path) -> tuple[list[str], list[str]]:
    proc = subprocess.run(
        [DCIODVFY, "-new", str(path)], capture_output=True, text=True, errors="replace", timeout=60
    )
    lines = (proc.stdout + proc.stderr).splitlines()
    return (
        [line for line in lines if line.startswith("Error")],
        [line for line in lines if line.startswith("Warning")],
    )


@pytest.mark.skipif(not Path(DCIODVFY).exists(), reason="dicom3tools dciodvfy not installed")
@pytest.mark.parametrize("fmt", ["dicom-seg", "dicom-sr"])
def test_dicom_outputs_pass_dciodvfy(
    data_dir: Path, source_warnings: set[str], tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / fmt
    manifest = export(data_dir, fmt, out)
    assert sorted(f["who"] for f in manifest["files"]) == ["alice", "bob", "consensus"]
    for entry in manifest["files"]:
        path = out / entry["path"]
        errors, warnings = dciodvfy(path)
        assert errors == [], f"{entry['path']}: {errors}"
        unexpected = [w for w in warnings if ACCEPTED_WARNING not in w and w not in source_warnings]
        assert unexpected == [], entry["path"]
        ds = pydicom.dcmread(path)
        if fmt == "dicom-seg":
            content = read_segmentation(ds)
            assert list(content.segments) == ["nodule-mask"]
        else:
            assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"


def test_nifti_loads_with_the_series_shape(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "nifti"
    manifest = export(data_dir, "nifti", out)
    for entry in manifest["files"]:
        image = nib.load(out / entry["path"])
        assert image.shape == (COLUMNS, ROWS, SLICES)
        data = np.asarray(image.dataobj)
        assert set(np.unique(data)) == {0, 1}
        assert np.isfinite(image.affine).all() and abs(np.linalg.det(image.affine[:3, :3])) > 0


# pycocotools' Cython decoder predates numpy 2's __array__(copy=...) protocol.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_coco_validates_against_its_structure(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "coco"
    manifest = export(data_dir, "coco", out)
    for entry in manifest["files"]:
        coco = COCO(str(out / entry["path"]))
        assert len(coco.getImgIds()) == SLICES
        image_ids = set(coco.getImgIds())
        category_ids = set(coco.getCatIds())
        for annotation in coco.loadAnns(coco.getAnnIds()):
            assert annotation["image_id"] in image_ids
            assert annotation["category_id"] in category_ids
            assert len(annotation["bbox"]) == 4
            if isinstance(annotation["segmentation"], dict) or annotation["segmentation"]:
                assert coco.annToMask(annotation).shape == (ROWS, COLUMNS)


def test_refusals_and_the_audit_trail(data_dir: Path, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    result = run_cli(
        "export",
        "--data-dir",
        str(data_dir),
        "--project",
        "lung",
        "--format",
        "coco",
        "--out",
        str(busy),
    )
    assert result.returncode != 0
    assert "not an empty folder" in result.stderr
    missing = run_cli(
        "export",
        "--data-dir",
        str(data_dir),
        "--project",
        "nope",
        "--format",
        "coco",
        "--out",
        str(tmp_path / "x"),
    )
    assert missing.returncode != 0 and "no project 'nope'" in missing.stderr
    verify = run_cli("audit", "verify", "--data-dir", str(data_dir))
    assert verify.returncode == 0, verify.stderr


@pytest.mark.skipif(not Path(DCIODVFY).exists(), reason="dicom3tools dciodvfy not installed")
def test_a_multi_frame_series_exports_valid_dicom(tmp_path: Path) -> None:
    directory = tmp_path / "node"
    with open_node(NodeSettings(data_dir=directory, fsync=False, ingest_workers=0)) as runtime:
        runtime.users.hasher = _fast_hasher()
        world = build_world(runtime, complete=True, multiframe=True)
        world.stored_headers()[0].save_as(tmp_path / "source.dcm", enforce_file_format=True)
    inherited = set(dciodvfy(tmp_path / "source.dcm")[1])
    for fmt in ("dicom-seg", "dicom-sr"):
        out = tmp_path / fmt
        manifest = export(directory, fmt, out)
        for entry in manifest["files"]:
            errors, warnings = dciodvfy(out / entry["path"])
            assert errors == [], f"{fmt} {entry['path']}: {errors}"
            unexpected = [w for w in warnings if ACCEPTED_WARNING not in w and w not in inherited]
            assert unexpected == [], f"{fmt} {entry['path']}"
