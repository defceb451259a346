"""De-identified output stays valid DICOM: dciodvfy finds no error the original lacked."""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_files

from node.dicom.deid import Deidentifier, DeidOptions
from node.errors import DeidentificationError

DCIODVFY = shutil.which("dciodvfy") or "/usr/bin/dciodvfy"
SECRET = b"dciodvfy-test-site-secret-0123456789abcdef"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path(DCIODVFY).exists(), reason="dicom3tools dciodvfy not installed"),
]

# dciodvfy did not read the original through: its error list is partial.
UNREADABLE = {
    "Error - Dicom dataset read failed",
    "Error - Tags out of order - trailing garbage, wrong transfer syntax, or not valid DICOM",
}
_VALUE = re.compile(r"(=\s*)<[^>]*>")
_NUMBERS_IN_VALUES = re.compile(r"\[\d+\]")


def normalize(line: str) -> str:
    """Reduce a dciodvfy message to its class: values and value indices dropped."""
    line = _VALUE.sub(r"\1<>", line)
    line = _NUMBERS_IN_VALUES.sub("[]", line)
    return " ".join(line.split())


def errors_of(path: Path) -> set[str]:
    proc = subprocess.run(
        [DCIODVFY, "-new", str(path)], capture_output=True, text=True, errors="replace", timeout=60
    )
    return {normalize(line) for line in (proc.stdout + proc.stderr).splitlines() if "Error" in line}


def readable_test_files() -> list[str]:
    files = []
    for name in get_testdata_files():
        try:
            pydicom.dcmread(name, stop_before_pixels=True)
        except Exception:
            continue  # not DICOM or unreadable: the ingest rejects those
        files.append(name)
    return files


def new_errors(name: str, out_dir: Path, deid: Deidentifier) -> tuple[str, set[str]] | None:
    """Return the dciodvfy errors de-identification added, or None when nothing can be compared.

    Nothing can be compared when pydicom cannot re-write the original, when
    dciodvfy cannot read the original through (truncated files, a meta header
    without transfer syntax, deflate it cannot inflate), or when the profile
    refuses the object (a DICOMDIR is not an instance).
    """
    ds = pydicom.dcmread(name)
    original = out_dir / (Path(name).name + ".orig.dcm")
    try:
        ds.save_as(original)
    except Exception:
        return None
    original_errors = errors_of(original)
    if original_errors & UNREADABLE:
        return None
    try:
        deid.deidentify(ds)
    except DeidentificationError:
        return None
    cleaned = out_dir / (Path(name).name + ".deid.dcm")
    ds.save_as(cleaned)
    return name, errors_of(cleaned) - original_errors


@pytest.mark.parametrize(
    "options",
    [
        DeidOptions(),
        DeidOptions(retain_longitudinal_modified_dates=True, retain_patient_characteristics=True),
    ],
    ids=["basic", "all-options"],
)
def test_no_new_dciodvfy_errors(tmp_path: Path, options: DeidOptions) -> None:
    deid = Deidentifier(SECRET, options)
    files = readable_test_files()
    assert len(files) > 150
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [
            r for r in pool.map(lambda n: new_errors(n, tmp_path, deid), files) if r is not None
        ]
    assert len(results) > 140
    regressions = {Path(name).name: sorted(errs) for name, errs in results if errs}
    assert regressions == {}
