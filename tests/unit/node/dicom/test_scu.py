from __future__ import annotations

from dataclasses import replace

import pydicom
import pytest

from node.dicom.scu import MAX_CONTEXTS_PER_ASSOCIATION, _batches, _plan, send_files
from node.errors import RemoteSourceError
from tests.dicom_samples import pydicom_file


def test_plan_reads_sop_class_and_transfer_syntax_from_file_meta() -> None:
    path = pydicom_file("JPEG2000.dcm")
    meta = pydicom.dcmread(path, stop_before_pixels=True).file_meta
    planned = _plan(0, path)
    assert planned.context == (meta.MediaStorageSOPClassUID, "1.2.840.10008.1.2.4.91")


def test_plan_of_a_dataset_without_file_meta_defaults_to_implicit_vr() -> None:
    ds = pydicom.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3"
    assert _plan(3, ds).context == ("1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.1.2")


def test_more_than_128_contexts_split_into_associations() -> None:
    ds = pydicom.Dataset()
    ds.SOPClassUID = "1.2.3"
    ds.SOPInstanceUID = "1.2.3.4"
    base = _plan(0, ds)
    planned = [
        replace(base, index=i, context=(f"1.2.{i}", "1.2.840.10008.1.2")) for i in range(300)
    ]
    batches = _batches(planned)
    assert [len(b) for b in batches] == [128, 128, 44]
    assert all(len({p.context for p in b}) <= MAX_CONTEXTS_PER_ASSOCIATION for b in batches)
    assert [p.index for b in batches for p in b] == list(range(300))


def test_repeated_contexts_share_one_association() -> None:
    ct = _plan(0, pydicom_file("CT_small.dcm"))
    assert len(_batches([replace(ct, index=i) for i in range(500)])) == 1


# pynetdicom shuts down, but never closes, the socket of a refused connection.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_unreachable_scp_raises_with_the_address() -> None:
    with pytest.raises(RemoteSourceError, match=r"127\.0\.0\.1:9"):
        send_files([pydicom_file("CT_small.dcm")], host="127.0.0.1", port=9, timeout=5)
