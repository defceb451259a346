"""DICOM SEG and SR written by shared.formats pass dicom3tools' dciodvfy with no error."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from shared.formats import Finding, write_measurement_report, write_segmentation
from shared.phantoms import SITE_STYLES, PhantomSeries, PhantomSpec, generate_series

DCIODVFY = shutil.which("dciodvfy") or "/usr/bin/dciodvfy"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path(DCIODVFY).exists(), reason="dicom3tools dciodvfy not installed"),
]

# Warnings we accept, each for a stated reason (anything else is reported by the test).
ACCEPTED_WARNINGS = (
    # Our private coding scheme for guideline labels without a standard code; it is declared
    # in CodingSchemeIdentificationSequence, but dciodvfy only knows the registered schemes.
    "Unrecognized defined term = <99HARMONIA>",
)


def dciodvfy(path: Path) -> tuple[list[str], list[str]]:
    proc = subprocess.run(
        [DCIODVFY, "-new", str(path)], capture_output=True, text=True, errors="replace", timeout=60
    )
    lines = (proc.stdout + proc.stderr).splitlines()
    errors = [line for line in lines if line.startswith("Error")]
    warnings = [line for line in lines if line.startswith("Warning")]
    return errors, warnings


@pytest.fixture(scope="module")
def phantom() -> PhantomSeries:
    spec = PhantomSpec(
        modality="CT", rows=128, columns=128, slices=12, seed=11, style=SITE_STYLES["ge-like"]
    )
    return generate_series(spec)


@pytest.fixture(scope="module")
def series(phantom: PhantomSeries) -> list[Dataset]:
    return list(phantom.datasets())


def check(path: Path) -> list[str]:
    errors, warnings = dciodvfy(path)
    assert errors == []
    return [w for w in warnings if not any(a in w for a in ACCEPTED_WARNINGS)]


def test_segmentation_passes(tmp_path: Path, phantom: PhantomSeries, series: list[Dataset]) -> None:
    truth = phantom.ground_truth()
    seg = write_segmentation(
        series,
        {"nodule": truth == 1, "lesion": truth == 2, "liver cyst": truth >= 3},
        series_description="Harmonia consensus",
        content_creator="consensus",
    )
    path = tmp_path / "seg.dcm"
    seg.save_as(path, enforce_file_format=True)
    assert check(path) == []


@pytest.mark.parametrize("observer_kind", ["person", "device"])
def test_measurement_report_passes(
    tmp_path: Path, series: list[Dataset], observer_kind: str
) -> None:
    findings = [
        Finding("nodule", "box", slice=2, points=[(10, 12), (40, 30)]),
        Finding("nodule", "polygon", slice=3, points=[(10, 10), (20, 12), (15, 30)]),
        Finding("carina", "keypoint", slice=4, points=[(64.5, 60.25)]),
        Finding("diameter", "length", slice=5, points=[(10, 10), (20, 10)], length_mm=7.8),
        Finding("birads", "classification", value="4"),
        Finding("quality", "classification", slice=6, value="good"),
    ]
    report = write_measurement_report(
        series, findings, observer="alice", observer_kind=observer_kind
    )
    path = tmp_path / "sr.dcm"
    report.save_as(path, enforce_file_format=True)
    assert check(path) == []
