"""Validate phantom files with dicom3tools' dciodvfy (the IOD and module rules)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from shared.phantoms import SITE_STYLES, PhantomSpec, generate_series, write_series

DCIODVFY = shutil.which("dciodvfy")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(DCIODVFY is None, reason="dicom3tools' dciodvfy is not installed"),
]


@pytest.mark.parametrize(
    ("modality", "style"),
    [("CT", "siemens-like"), ("CT", "ge-like"), ("MR", "philips-like"), ("MR", "reference")],
)
def test_phantom_files_have_no_dciodvfy_errors(modality: str, style: str, tmp_path: Path) -> None:
    spec = PhantomSpec(
        modality=modality, rows=64, columns=64, slices=3, seed=5, style=SITE_STYLES[style]
    )
    paths = write_series(generate_series(spec), tmp_path)
    assert DCIODVFY is not None
    for path in paths:
        result = subprocess.run(
            [DCIODVFY, str(path)], capture_output=True, text=True, timeout=60, check=False
        )
        report = result.stdout + result.stderr
        iod = "CTImage" if modality == "CT" else "MRImage"
        assert iod in report, report
        errors = [line for line in report.splitlines() if "Error" in line]
        assert errors == [], "\n".join(errors)
