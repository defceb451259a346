from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pydicom
import pytest
from pynetdicom import AE, evt
from pynetdicom.sop_class import CTImageStorage, Verification  # type: ignore[attr-defined]

from node.dicom.ingest import IngestOutcome, IngestStatus
from node.dicom.scp import ALL_TRANSFER_SYNTAXES, StoreScp, dimse_status
from node.dicom.scu import send_files
from node.errors import RemoteSourceError
from tests.dicom_samples import pydicom_file
from tests.unit.node.dicom.fake_ingest import FakeIngest, GatedIngest


def rejected(code: int | None, message: str = "bad") -> IngestOutcome:
    return IngestOutcome(IngestStatus.REJECTED, failure_reason=code, message=message)


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (IngestOutcome(IngestStatus.STORED), 0x0000),
        (IngestOutcome(IngestStatus.DUPLICATE), 0x0000),
        (rejected(0xA700), 0xA700),
        (rejected(0xA900), 0xA900),
        (rejected(0xC000), 0xC000),
        (rejected(0x0110), 0x0110),
        (rejected(0x0122), 0x0122),
        (rejected(0xC122), 0xC000),  # PS3.18 only: the nearest C-STORE code
        (rejected(0x1234), 0x0110),
        (rejected(None), 0x0110),
    ],
)
def test_outcome_maps_to_c_store_status(outcome: IngestOutcome, status: int) -> None:
    answer = dimse_status(outcome)
    assert answer.Status == status
    assert ("ErrorComment" in answer) == (status != 0)


def test_error_comment_fits_lo() -> None:
    answer = dimse_status(rejected(0xA900, "x\\y " + "a" * 200))
    assert len(answer.ErrorComment) <= 64
    assert "\\" not in answer.ErrorComment
    assert answer.ErrorComment.endswith("...")


def test_supports_every_storage_class_in_every_transfer_syntax() -> None:
    scp = StoreScp(FakeIngest(), ae_title="HARMONIA", port=0)
    ae = scp._build_ae()
    contexts = {c.abstract_syntax: c.transfer_syntax for c in ae.supported_contexts}
    assert len(contexts) > 128  # more than one association could propose: fine for an SCP
    assert contexts[CTImageStorage] == list(ALL_TRANSFER_SYNTAXES)
    assert Verification in contexts
    assert "1.2.840.10008.1.2.4.50" in ALL_TRANSFER_SYNTAXES  # JPEG baseline
    assert "1.2.840.10008.1.2.1.99" in ALL_TRANSFER_SYNTAXES  # deflate


@pytest.fixture
def fake() -> FakeIngest:
    return FakeIngest()


@pytest.fixture
def scp(fake: FakeIngest) -> Iterator[StoreScp]:
    server = StoreScp(fake, ae_title="HARMONIA", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_port_zero_binds_a_real_port_and_stop_is_idempotent(fake: FakeIngest) -> None:
    server = StoreScp(fake, ae_title="HARMONIA", port=0)
    server.start()
    port = server.port
    assert port > 0 and server.running
    ae = AE(ae_title="ECHOSCU")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port, ae_title="HARMONIA")
    assert assoc.is_established
    assoc.release()
    ae.shutdown()
    server.stop()
    server.stop()
    assert not server.running


def test_warns_when_every_ae_is_admitted(fake: FakeIngest, caplog: Any) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="node.dicom.scp"),
        StoreScp(fake, ae_title="HARMONIA", port=0),
    ):
        pass
    assert any("ANY calling AE" in r.getMessage() for r in caplog.records)


def test_stores_through_ingest_with_dimse_source(scp: StoreScp, fake: FakeIngest) -> None:
    ct = pydicom_file("CT_small.dcm")
    statuses = send_files([ct, ct], host="127.0.0.1", port=scp.port, ae_title="MODALITY1")
    assert statuses == [0, 0]  # the second is a duplicate: still success
    assert len(fake.stored) == 1
    data, source = fake.calls[0]
    assert source == "dimse:MODALITY1"
    assert data[128:132] == b"DICM"
    received = pydicom.dcmread(BytesIO(data))
    assert received.SOPInstanceUID == pydicom.dcmread(ct).SOPInstanceUID


def test_rejection_becomes_failure_status_with_comment(fake: FakeIngest) -> None:
    fake.reply = rejected(0xA900, "StudyInstanceUID is missing")
    seen: list[Any] = []
    with StoreScp(fake, ae_title="HARMONIA", port=0) as server:
        ae = AE(ae_title="SENDER")
        ae.add_requested_context(CTImageStorage, "1.2.840.10008.1.2.1")
        assoc = ae.associate("127.0.0.1", server.port, ae_title="HARMONIA")
        assert assoc.is_established
        seen.append(assoc.send_c_store(pydicom.dcmread(pydicom_file("CT_small.dcm"))))
        assoc.release()
        ae.shutdown()
    assert seen[0].Status == 0xA900
    assert seen[0].ErrorComment == "StudyInstanceUID is missing"


def test_c_echo_answers_success(scp: StoreScp) -> None:
    ae = AE(ae_title="ECHOSCU")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", scp.port, ae_title="HARMONIA")
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0
    assoc.release()
    ae.shutdown()


def test_unknown_calling_ae_is_rejected(fake: FakeIngest) -> None:
    with StoreScp(fake, ae_title="HARMONIA", port=0, allow_ae=["PACS1"]) as server:
        with pytest.raises(RemoteSourceError, match="Calling AE title not recognised"):
            send_files([pydicom_file("CT_small.dcm")], host="127.0.0.1", port=server.port)
        assert send_files(
            [pydicom_file("CT_small.dcm")], host="127.0.0.1", port=server.port, ae_title="PACS1"
        ) == [0]
    assert len(fake.stored) == 1


def test_accepted_socket_has_tcp_nodelay(scp: StoreScp) -> None:
    ae = AE(ae_title="PLAINSCU")  # sets nothing on its own socket
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", scp.port, ae_title="HARMONIA")
    try:
        assert assoc.is_established
        client = assoc.dul.socket.socket
        assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        deadline = time.monotonic() + 10
        while not scp.active_associations and time.monotonic() < deadline:
            time.sleep(0.01)
        (server_side,) = scp.active_associations
        accepted = server_side.dul.socket.socket
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        assoc.release()
        ae.shutdown()


def test_scu_sets_tcp_nodelay_on_its_socket(scp: StoreScp) -> None:
    seen: list[int] = []

    def spy(event: evt.Event) -> None:
        seen.append(
            event.assoc.dul.socket.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        )

    # The SCP's own EVT_CONN_OPEN handler runs first on its side; watch our side here.
    from node.dicom import scu

    original = scu._on_connection_open

    def wrapped(event: evt.Event) -> None:
        original(event)
        spy(event)

    scu._on_connection_open = wrapped  # type: ignore[assignment]
    try:
        send_files([pydicom_file("CT_small.dcm")], host="127.0.0.1", port=scp.port)
    finally:
        scu._on_connection_open = original  # type: ignore[assignment]
    assert seen == [1]


def test_an_instance_not_stored_in_time_is_answered_busy(caplog: Any) -> None:
    gated = GatedIngest()
    server = StoreScp(gated, ae_title="HARMONIA", port=0, timeout_s=0.5)
    assert (server._build_ae().network_timeout or 0) >= 60  # far above the deadline
    ct = pydicom_file("CT_small.dcm")
    try:
        server.start()
        with caplog.at_level(logging.WARNING, logger="node.dicom"):
            statuses = send_files(
                [ct], host="127.0.0.1", port=server.port, ae_title="SLOWPACS", busy_retries=0
            )
        assert statuses == [0xA700]  # answered, not left hanging: the sender retries
        gated.gate.set()
        assert send_files([ct], host="127.0.0.1", port=server.port, ae_title="SLOWPACS") == [0]
    finally:
        gated.gate.set()
        server.stop()  # waits for the late ingest
    assert len(gated.stored) == 1
    assert "not finished after 0.5 s" in caplog.text
