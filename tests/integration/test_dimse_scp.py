"""The C-STORE SCP against a real node: pynetdicom's own apps and our SCU as peers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from sqlalchemy import text

from node.dicom.scp import StoreScp
from node.dicom.scu import send_files
from node.errors import RemoteSourceError
from node.runtime import NodeRuntime
from tests.dicom_samples import pydicom_file
from tests.integration.storable_samples import (
    JPEG_LS_DUPLICATE,
    original_identities,
    storable_files,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def scp(runtime: NodeRuntime) -> Iterator[StoreScp]:
    server = StoreScp(
        runtime.ingest, ae_title="HARMONIA", port=0, allow_ae=["GOOD_SCU", "STORESCU", "ECHOSCU"]
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def stored_rows(runtime: NodeRuntime) -> list[tuple[str, str, str]]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT sop_instance_uid, content_sha256, source FROM instances")
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def assert_all_readable_and_deidentified(runtime: NodeRuntime, originals: set[str]) -> None:
    rows = stored_rows(runtime)
    assert len({uid for uid, _, _ in rows}) == len(rows)
    for uid, _, _ in rows:
        record = runtime.store.instance(uid, include_quarantined=True)
        data = runtime.store.read(record)
        ds = pydicom.dcmread(BytesIO(data))
        if "PixelData" in ds:
            assert len(ds.PixelData) > 0
        assert str(ds.SOPInstanceUID) == uid
        assert str(ds.StudyInstanceUID) not in originals
        assert str(ds.get("PatientID", "")) not in originals


def run_app(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pynetdicom", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_our_scu_stores_every_transfer_syntax_once(scp: StoreScp, runtime: NodeRuntime) -> None:
    files = storable_files()
    statuses = send_files(
        [*files, pydicom_file(JPEG_LS_DUPLICATE)],
        host="127.0.0.1",
        port=scp.port,
        ae_title="GOOD_SCU",
    )
    assert statuses == [0] * (len(files) + 1)
    assert runtime.store.count_instances() == len(files)
    assert send_files(files, host="127.0.0.1", port=scp.port, ae_title="GOOD_SCU") == [0] * len(
        files
    )
    assert runtime.store.count_instances() == len(files)
    assert {source for _, _, source in stored_rows(runtime)} == {"dimse:GOOD_SCU"}
    assert_all_readable_and_deidentified(runtime, original_identities(files))


def test_pynetdicom_storescu_app(scp: StoreScp, runtime: NodeRuntime, tmp_path: Path) -> None:
    folder = tmp_path / "send"
    folder.mkdir()
    for path in storable_files():
        shutil.copy(path, folder / path.name)
    result = run_app(
        "storescu", "127.0.0.1", str(scp.port), str(folder), "-r", "-cx", "-aec", "HARMONIA"
    )
    assert result.returncode == 0, result.stderr
    assert runtime.store.count_instances() == len(storable_files())


def test_storescu_from_unknown_ae_is_rejected(scp: StoreScp, runtime: NodeRuntime) -> None:
    result = run_app(
        "storescu",
        "127.0.0.1",
        str(scp.port),
        str(pydicom_file("CT_small.dcm")),
        "-aet",
        "INTRUDER",
        "-aec",
        "HARMONIA",
    )
    assert "Association Rejected" in result.stderr
    assert "Calling AE title not recognised" in result.stderr
    with pytest.raises(RemoteSourceError, match="Calling AE title not recognised"):
        send_files(
            [pydicom_file("CT_small.dcm")], host="127.0.0.1", port=scp.port, ae_title="INTRUDER"
        )
    assert runtime.store.count_instances() == 0


def test_echoscu_app(scp: StoreScp) -> None:
    result = run_app("echoscu", "127.0.0.1", str(scp.port), "-aec", "HARMONIA", "-v")
    assert result.returncode == 0, result.stderr
    assert "Received Echo Response (Status: 0x0000 - Success)" in result.stderr


def test_accepted_socket_has_tcp_nodelay(scp: StoreScp) -> None:
    ae = AE(ae_title="ECHOSCU")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", scp.port, ae_title="HARMONIA")
    try:
        assert assoc.is_established
        deadline = time.monotonic() + 10
        while not scp.active_associations and time.monotonic() < deadline:
            time.sleep(0.01)
        sockets = [a.dul.socket.socket for a in scp.active_associations]
        assert [s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in sockets] == [1]
    finally:
        assoc.release()
        ae.shutdown()


def test_concurrent_associations_store_each_instance_once(
    scp: StoreScp, runtime: NodeRuntime
) -> None:
    files = storable_files()
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def sender(n: int) -> None:
        # Overlapping, differently ordered sets: every instance races in several threads.
        order = files[n:] + files[:n] + ([pydicom_file(JPEG_LS_DUPLICATE)] if n % 2 else [])
        try:
            results[n] = send_files(order, host="127.0.0.1", port=scp.port, ae_title="GOOD_SCU")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert all(set(statuses) == {0} for statuses in results.values()) and len(results) == 4
    rows = stored_rows(runtime)
    assert len(rows) == len(files) == runtime.store.count_instances()
    blob_files = [p for p in runtime.settings.blob_dir.rglob("*") if p.is_file()]
    assert len(blob_files) == len({digest for _, digest, _ in rows})
    assert_all_readable_and_deidentified(runtime, original_identities(files))
