"""Ingest of every pydicom test file and of fuzzed mutations.

Each is stored whole, or rejected with a reason; nothing is half-stored.
"""

from __future__ import annotations

import os
import random
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_files

from node.dicom.ingest import IngestStatus
from node.errors import (
    FAILURE_CANNOT_UNDERSTAND,
    FAILURE_DATASET_MISMATCH,
    FAILURE_OUT_OF_RESOURCES,
)
from node.runtime import NodeRuntime, open_node
from node.settings import NodeSettings
from tests.dicom_samples import pydicom_file

ALL_TEST_FILES = sorted(path for path in get_testdata_files() if os.path.isfile(path))


def _consistent(runtime: NodeRuntime) -> None:
    """Every row has its file and every file has its row: nothing half-written."""
    digests = set(runtime.store.blobs.digests())
    assert runtime.store.count_instances() == len(digests)
    assert runtime.store.sweep_orphans() == 0


def test_every_pydicom_test_file_is_stored_or_rejected_with_a_reason(runtime: NodeRuntime) -> None:
    assert len(ALL_TEST_FILES) > 150
    summary: dict[str, list[str]] = {"stored": [], "duplicate": [], "rejected": []}
    for path in ALL_TEST_FILES:
        outcome = runtime.ingest.ingest_file(Path(path), source="test")
        summary[outcome.status.value].append(os.path.basename(path))
        if outcome.status is IngestStatus.REJECTED:
            assert outcome.failure_reason is not None, path
            assert outcome.message, path
            continue
        record = runtime.store.instance(
            outcome.stored_sop_instance_uid or "", include_quarantined=True
        )
        stored = pydicom.dcmread(BytesIO(runtime.store.read(record)))
        assert stored.PatientIdentityRemoved == "YES", path
        assert str(stored.SOPInstanceUID).startswith("2.25."), path
        original = pydicom.dcmread(path, force=True)
        original_id = str(original.get("PatientID", "") or "")
        if len(original_id) > 3:
            assert original_id.encode() not in runtime.store.read(record), path
    assert len(summary["stored"]) > 100, summary
    # DICOMDIRs and the deliberately broken files must be among the rejected.
    assert "DICOMDIR" not in summary["stored"]
    assert "MR_truncated.dcm" in summary["rejected"]
    assert {"README.txt", "test1.json", "zipMR.gz", "crayons.icc"} <= set(summary["rejected"])
    _consistent(runtime)


def test_resending_everything_creates_no_duplicates(runtime: NodeRuntime) -> None:
    for path in ALL_TEST_FILES[:40]:
        runtime.ingest.ingest_file(Path(path), source="first")
    before = runtime.store.count_instances()
    statuses = {
        runtime.ingest.ingest_file(Path(p), source="again").status for p in ALL_TEST_FILES[:40]
    }
    assert IngestStatus.STORED not in statuses
    assert runtime.store.count_instances() == before


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda data: b"not dicom at all", FAILURE_CANNOT_UNDERSTAND),
        (lambda data: data[: len(data) // 2], FAILURE_CANNOT_UNDERSTAND),
        (lambda data: b"", FAILURE_CANNOT_UNDERSTAND),
    ],
)
def test_broken_inputs_get_specific_reasons(runtime: NodeRuntime, mutate, reason: int) -> None:  # type: ignore[no-untyped-def]
    data = mutate(pydicom_file("CT_small.dcm").read_bytes())
    outcome = runtime.ingest.ingest_bytes(data, source="test", require_part10=True)
    assert outcome.status is IngestStatus.REJECTED
    assert outcome.failure_reason == reason


def _without(keyword: str) -> bytes:
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    delattr(ds, keyword)
    buffer = BytesIO()
    ds.save_as(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "keyword", ["SOPInstanceUID", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID"]
)
def test_missing_required_uid_is_named(runtime: NodeRuntime, keyword: str) -> None:
    outcome = runtime.ingest.ingest_bytes(_without(keyword), source="test")
    assert outcome.status is IngestStatus.REJECTED
    assert outcome.failure_reason == FAILURE_DATASET_MISMATCH
    assert keyword in (outcome.message or "")


def test_unsupported_transfer_syntax(runtime: NodeRuntime) -> None:
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    ds.file_meta.TransferSyntaxUID = "1.2.3.4.5.6"
    buffer = BytesIO()
    ds.save_as(buffer, implicit_vr=False, little_endian=True)
    outcome = runtime.ingest.ingest_bytes(buffer.getvalue(), source="test")
    assert outcome.status is IngestStatus.REJECTED
    assert outcome.failure_reason == 0xC122
    assert "1.2.3.4.5.6" in (outcome.message or "")


def test_sop_class_mismatch_with_file_meta(runtime: NodeRuntime) -> None:
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    buffer = BytesIO()
    ds.save_as(buffer)
    outcome = runtime.ingest.ingest_bytes(buffer.getvalue(), source="test")
    assert outcome.failure_reason == FAILURE_DATASET_MISMATCH


def test_study_mismatch(runtime: NodeRuntime) -> None:
    data = pydicom_file("CT_small.dcm").read_bytes()
    outcome = runtime.ingest.ingest_bytes(data, source="test", expected_study_uid="1.2.3")
    assert outcome.failure_reason == FAILURE_DATASET_MISMATCH
    assert "1.2.3" in (outcome.message or "")


def test_oversized_instance(tmp_path: Path) -> None:
    with open_node(
        NodeSettings(data_dir=tmp_path, max_instance_bytes=1000, fsync=False)
    ) as runtime:
        outcome = runtime.ingest.ingest_bytes(pydicom_file("CT_small.dcm").read_bytes(), source="t")
        assert outcome.failure_reason == FAILURE_OUT_OF_RESOURCES
        assert "1000" in (outcome.message or "")
        assert runtime.store.count_instances() == 0


def _mutations(data: bytes, rng: random.Random, count: int) -> list[bytes]:
    out = []
    for _ in range(count):
        buf = bytearray(data)
        kind = rng.randrange(4)
        if kind == 0:  # flip bytes
            for _ in range(rng.randint(1, 16)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif kind == 1:  # truncate
            del buf[rng.randrange(132, len(buf)) :]
        elif kind == 2:  # insert junk
            at = rng.randrange(132, len(buf))
            buf[at:at] = rng.randbytes(rng.randint(1, 64))
        else:  # corrupt a length field in the header region
            at = rng.randrange(132, min(len(buf), 1200))
            buf[at : at + 4] = rng.randbytes(4)
        out.append(bytes(buf))
    return out


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "MR_small_RLE.dcm", "JPEG2000.dcm", "rtplan.dcm", "nested_priv_SQ.dcm"]
)
def test_fuzzed_mutations_never_crash_and_never_half_store(runtime: NodeRuntime, name: str) -> None:
    rng = random.Random(f"harmonia-{name}")
    for mutated in _mutations(pydicom_file(name).read_bytes(), rng, 60):
        outcome = runtime.ingest.ingest_bytes(mutated, source="fuzz")
        if outcome.status is IngestStatus.REJECTED:
            assert outcome.failure_reason is not None and outcome.message
    _consistent(runtime)
