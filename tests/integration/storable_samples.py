"""pydicom test files the real ingest stores, one per SOP Instance, across transfer syntaxes."""

from __future__ import annotations

from pathlib import Path

import pydicom

from tests.dicom_samples import pydicom_file

# Explicit and implicit VR, deflate, RLE, JPEG baseline and extended, JPEG 2000.
STORABLE = (
    "CT_small.dcm",
    "MR_small.dcm",
    "rtplan.dcm",
    "image_dfl.dcm",
    "SC_rgb_rle.dcm",
    "rtdose_rle.dcm",
    "SC_rgb_small_odd_jpeg.dcm",
    "JPGExtended.dcm",
    "JPEG2000.dcm",
    "693_J2KI.dcm",
)
# Same SOP Instance as MR_small.dcm, sent in JPEG-LS: the node answers it as a duplicate.
JPEG_LS_DUPLICATE = "MR_small_jpeg_ls_lossless.dcm"


def storable_files() -> list[Path]:
    return [pydicom_file(name) for name in STORABLE]


def original_identities(paths: list[Path]) -> set[str]:
    """Patient IDs and Study Instance UIDs of the originals, to look for after ingest."""
    found: set[str] = set()
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        found.add(str(ds.StudyInstanceUID))
        if ds.get("PatientID"):
            found.add(str(ds.PatientID))
    return found
