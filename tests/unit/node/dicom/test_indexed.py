"""The indexed attributes read from raw bytes equal InstanceAttributes.from_dataset's."""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_files

from node.dicom.deid import Deidentifier, DeidOptions
from node.dicom.indexed import indexed_attributes
from node.store import InstanceAttributes

ALL_TEST_FILES = sorted(path for path in get_testdata_files() if os.path.isfile(path))
SECRET = b"indexed-test-secret-0123456789abcdef"


@pytest.mark.parametrize("deidentify", [False, True], ids=["as-received", "de-identified"])
def test_every_test_file_gives_the_attributes_from_dataset_gives(deidentify: bool) -> None:
    deid = Deidentifier(SECRET, DeidOptions())
    compared = 0
    for path in ALL_TEST_FILES:
        data = Path(path).read_bytes()
        try:
            fast, slow = (pydicom.dcmread(BytesIO(data), force=True) for _ in range(2))
            if deidentify:
                deid.deidentify(fast)
                deid.deidentify(slow)
        except Exception:
            continue  # not readable or not de-identifiable: never indexed
        try:
            expected = InstanceAttributes.from_dataset(slow, "1.2.840.10008.1.2.1")
        except Exception as exc:
            with pytest.raises(type(exc)):
                indexed_attributes(fast, "1.2.840.10008.1.2.1")
            continue
        assert indexed_attributes(fast, "1.2.840.10008.1.2.1") == expected, path
        compared += 1
    assert compared > 100
