from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import pydicom
import pytest
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

from node.dicom.ingest import IngestOutcome
from node.dicom.ingest_deadline import late_outcome
from node.dicom.scp import StoreScp
from node.dicom.scu import (
    MAX_CONTEXTS_PER_ASSOCIATION,
    _batches,
    _plan,
    keep_responses,
    send_files,
)
from node.errors import RemoteSourceError
from tests.dicom_samples import pydicom_file
from tests.unit.node.dicom.fake_ingest import FakeIngest


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


def _store_response(message_id: int) -> C_STORE:
    response = C_STORE()
    response.MessageIDBeingRespondedTo = message_id
    response.AffectedSOPClassUID = CTImageStorage
    response.AffectedSOPInstanceUID = "1.2.3.4"
    response.Status = 0x0000
    return response


@pytest.fixture
def association() -> Iterator[Association]:
    with StoreScp(FakeIngest(), ae_title="HARMONIA", port=0) as scp:
        ae = AE(ae_title="SCU")
        ae.add_requested_context(CTImageStorage)
        assoc = ae.associate("127.0.0.1", scp.port, ae_title="HARMONIA")
        assert assoc.is_established
        try:
            yield assoc
        finally:
            assoc.release()
            ae.shutdown()


def test_pynetdicom_reactor_drops_a_response_it_takes(
    association: Association, caplog: pytest.LogCaptureFixture
) -> None:
    """The race keep_responses guards against: what the reactor takes is lost."""
    with caplog.at_level(logging.WARNING, logger="pynetdicom"):
        association._serve_request(_store_response(7), 1)
    assert association.dimse.msg_queue.empty()
    assert "Received unexpected C-STORE service message" in caplog.text


def test_kept_responses_go_back_to_the_waiting_sender(association: Association) -> None:
    keep_responses(association)
    response = _store_response(7)
    association._serve_request(response, 1)
    assert association.dimse.get_msg(block=False) == (1, response)


class BusyOnce(FakeIngest):
    """Answers 'node busy' (0xA700) to the first instance, then stores as usual."""

    def ingest_bytes(
        self, data: bytes, *, source: str, expected_study_uid: str | None = None
    ) -> IngestOutcome:
        if not self.calls:
            self.calls.append((data, source))
            return late_outcome(8, queued=False)
        return super().ingest_bytes(data, source=source)


@pytest.mark.parametrize(("retries", "statuses", "calls"), [(5, [0], 2), (0, [0xA700], 1)])
def test_a_busy_answer_is_sent_again(retries: int, statuses: list[int], calls: int) -> None:
    busy = BusyOnce()
    with StoreScp(busy, ae_title="HARMONIA", port=0) as scp:
        answered = send_files(
            [pydicom_file("CT_small.dcm")],
            host="127.0.0.1",
            port=scp.port,
            ae_title="SCU",
            busy_retries=retries,
        )
    assert answered == statuses
    assert len(busy.calls) == calls
