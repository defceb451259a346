"""The C-STORE SCP of a real ``harmonia-node serve`` under concurrent senders and a locked store.

Issue 2's stall: a sender's association got no answer for 60 s, then was
aborted. Two causes were found and fixed: pynetdicom's requestor reactor could
take a C-STORE response from under ``send_c_store`` (our SCU now hands it back,
:func:`node.dicom.scu.keep_responses`), and the SCP's handler could wait out
the store's busy timeout twice, past pynetdicom's 60 s idle timer (the SCP now
answers 0xA700 within its deadline, :mod:`node.dicom.ingest_deadline`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pydicom
import pytest

from node.dicom.scp import DEFAULT_TIMEOUT_S
from node.dicom.scu import send_files
from node.errors import FAILURE_OUT_OF_RESOURCES
from shared.phantoms import SITE_STYLES, PhantomSpec, generate_series, write_series
from tests.dicom_samples import multipart_body
from tests.support.node_process import NodeProcess, free_port, running_node

pytestmark = pytest.mark.integration

ASSOCIATIONS = 6
PER_ASSOCIATION = 12
STOW_SENDERS = 2
PER_STOW = 12
RETRIES = 20  # a PACS sends an instance again after 0xA700 (node busy)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, int]]:
    root = tmp_path_factory.mktemp("cstore-node")
    dicom_port = free_port()
    with running_node(root / "data", extra_args=["--dicom-port", str(dicom_port)]) as process:
        yield process, dicom_port


def _series(folder: Path, seed: int, slices: int) -> list[Path]:
    spec = PhantomSpec(
        modality="CT",
        rows=64,
        columns=64,
        slices=slices,
        seed=seed,
        style=SITE_STYLES["siemens-like"],
    )
    return write_series(generate_series(spec), folder)


def _send_until_answered(files: list[Path], port: int) -> list[int]:
    """C-STORE ``files`` on one association each round, sending again what got 0xA700."""
    final: dict[Path, int] = {}
    waiting = list(files)
    for _ in range(RETRIES):
        statuses = send_files(waiting, host="127.0.0.1", port=port, ae_title="LOADSCU", timeout=120)
        final.update(zip(waiting, statuses, strict=True))
        waiting = [
            f for f, s in zip(waiting, statuses, strict=True) if s == FAILURE_OUT_OF_RESOURCES
        ]
        if not waiting:
            break
    return [final[f] for f in files]


def _stored_sop_uids(node: NodeProcess) -> list[str]:
    response = httpx.get(
        f"{node.url}/dicom-web/instances",
        params={"limit": "100000", "includefield": "00080018"},
        headers={"Authorization": f"Bearer {node.token}", "Accept": "application/dicom+json"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return [entry["00080018"]["Value"][0] for entry in response.json()]


def test_concurrent_associations_and_stow_store_every_instance_once(
    node: tuple[NodeProcess, int], tmp_path: Path
) -> None:
    process, dicom_port = node
    before = len(_stored_sop_uids(process))
    senders = [_series(tmp_path / f"a{n}", 100 + n, PER_ASSOCIATION) for n in range(ASSOCIATIONS)]
    stowers = [_series(tmp_path / f"s{n}", 500 + n, PER_STOW) for n in range(STOW_SENDERS)]
    answers: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def associate(n: int) -> None:
        try:
            # Each association sends its series twice over: the repeats are duplicates.
            answers[f"a{n}"] = _send_until_answered(senders[n] + senders[n][:3], dicom_port)
        except BaseException as exc:  # no answer or an aborted association: reported below
            errors.append(exc)

    def stow(n: int) -> None:
        try:
            for start in range(0, PER_STOW, 4):
                parts = [f.read_bytes() for f in stowers[n][start : start + 4]]
                body, content_type = multipart_body(parts)
                response = httpx.post(
                    f"{process.url}/dicom-web/studies",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {process.token}",
                        "Content-Type": content_type,
                        "Accept": "application/dicom+json",
                    },
                    timeout=300,
                )
                assert response.status_code == 200, response.text
                answers.setdefault(f"s{n}", []).extend(
                    [0] * len(response.json()["00081199"]["Value"])
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=associate, args=(n,)) for n in range(ASSOCIATIONS)]
    threads += [threading.Thread(target=stow, args=(n,)) for n in range(STOW_SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    assert not errors, errors
    assert all(not thread.is_alive() for thread in threads)
    for n in range(ASSOCIATIONS):
        assert answers[f"a{n}"] == [0] * (PER_ASSOCIATION + 3), process.output()[-4000:]
    for n in range(STOW_SENDERS):
        assert answers[f"s{n}"] == [0] * PER_STOW
    stored = _stored_sop_uids(process)
    total = ASSOCIATIONS * PER_ASSOCIATION + STOW_SENDERS * PER_STOW
    assert len(stored) - before == total
    assert len(set(stored)) == len(stored)  # each instance exactly once
    assert "Network timeout reached" not in process.output()  # no association aborted


def test_a_locked_store_is_answered_busy_in_time_and_the_retry_stores_once(
    node: tuple[NodeProcess, int], tmp_path: Path
) -> None:
    process, dicom_port = node
    files = _series(tmp_path / "locked", 900, 2)
    before = len(_stored_sop_uids(process))
    other_writer = sqlite3.connect(process.data_dir / "node.sqlite3", isolation_level=None)
    try:
        other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock past the busy timeout
        statuses = send_files(
            files[:1], host="127.0.0.1", port=dicom_port, ae_title="LOCKSCU", busy_retries=0
        )
    finally:
        other_writer.execute("ROLLBACK")
        other_writer.close()
    # Answered (not left hanging, not aborted): node busy, send it again.
    assert statuses == [FAILURE_OUT_OF_RESOURCES]
    assert _send_until_answered(files, dicom_port) == [0, 0]
    stored = _stored_sop_uids(process)
    assert len(stored) - before == 2 and len(set(stored)) == len(stored)
    output = process.output()
    assert f"not finished after {DEFAULT_TIMEOUT_S:g} s" in output
    sent = str(pydicom.dcmread(files[0], stop_before_pixels=True).SOPInstanceUID)
    assert f"C-STORE from LOCKSCU of {sent} rejected (0xA700)" in output
