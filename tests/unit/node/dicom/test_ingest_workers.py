"""Ingest through worker processes gives exactly what ingest on the calling thread gives."""

from __future__ import annotations

from pathlib import Path

import psutil

from node.dicom.ingest import IngestStatus
from node.errors import FAILURE_CANNOT_UNDERSTAND
from node.runtime import open_node
from node.settings import NodeSettings
from shared.phantoms import SITE_STYLES, PhantomSpec, dataset_to_bytes, generate_series


def _parts() -> list[bytes]:
    spec = PhantomSpec(
        modality="CT", rows=64, columns=64, slices=4, seed=5, style=SITE_STYLES["reference"]
    )
    return [dataset_to_bytes(ds) for ds in generate_series(spec).datasets()]


def _ingest_all(data_dir: Path, workers: int, parts: list[bytes]) -> list[tuple[str, bytes]]:
    settings = NodeSettings(data_dir=data_dir, fsync=False, ingest_workers=workers)
    with open_node(settings) as runtime:
        assert (runtime.ingest_workers is None) == (workers == 0)
        stored = []
        for part in parts:
            outcome = runtime.ingest.ingest_bytes(part, source="test", require_part10=True)
            assert outcome.status is IngestStatus.STORED, outcome.message
            assert outcome.stored_sop_instance_uid is not None
            record = runtime.store.instance(
                outcome.stored_sop_instance_uid, include_quarantined=True
            )
            stored.append((outcome.stored_sop_instance_uid, runtime.store.read(record)))
        again = runtime.ingest.ingest_bytes(parts[0], source="test")
        assert again.status is IngestStatus.DUPLICATE
        garbage = runtime.ingest.ingest_bytes(b"not dicom at all", source="test")
        assert garbage.status is IngestStatus.REJECTED
        assert garbage.failure_reason == FAILURE_CANNOT_UNDERSTAND
    return stored


def test_worker_pool_stores_the_same_bytes_as_the_calling_thread(tmp_path: Path) -> None:
    parts = _parts()
    # Same site secret for both: copy the first node's key before the second opens.
    in_thread = _ingest_all(tmp_path / "a", 0, parts)
    (tmp_path / "b" / "secrets").mkdir(parents=True)
    (tmp_path / "b" / "secrets" / "site.key").write_bytes(
        (tmp_path / "a" / "secrets" / "site.key").read_bytes()
    )
    in_workers = _ingest_all(tmp_path / "b", 2, parts)
    assert in_workers == in_thread


def test_closing_the_runtime_stops_its_workers(tmp_path: Path) -> None:
    settings = NodeSettings(data_dir=tmp_path / "n", fsync=False, ingest_workers=2)
    me = psutil.Process()
    before = {child.pid for child in me.children()}
    with open_node(settings) as runtime:
        runtime.ingest.ingest_bytes(_parts()[0], source="test")
        workers = [
            child
            for child in me.children()
            if child.pid not in before and "resource_tracker" not in " ".join(child.cmdline())
        ]
        assert workers  # the executor starts workers as work arrives, up to its maximum
    _gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive


def test_start_brings_up_every_worker_before_any_instance_arrives(tmp_path: Path) -> None:
    settings = NodeSettings(data_dir=tmp_path / "n", fsync=False, ingest_workers=2)
    me = psutil.Process()
    before = {child.pid for child in me.children()}
    with open_node(settings) as runtime:
        assert runtime.ingest_workers is not None
        runtime.ingest_workers.start()
        started = [
            child
            for child in me.children()
            if child.pid not in before and "resource_tracker" not in " ".join(child.cmdline())
        ]
        assert len(started) == 2
