"""Ingest with a deadline: answers in time, finishes late work, logs why."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from node.dicom.ingest import IngestStatus
from node.dicom.ingest_deadline import IngestDeadline, late_outcome
from node.errors import FAILURE_OUT_OF_RESOURCES
from tests.unit.node.dicom.fake_ingest import FakeIngest, GatedIngest

DICOM = b"\0" * 128 + b"DICM" + b"rest"


@pytest.fixture
def gated() -> Iterator[GatedIngest]:
    ingest = GatedIngest()
    yield ingest
    ingest.gate.set()


def test_an_ingest_in_time_returns_its_outcome() -> None:
    fake = FakeIngest()
    deadline = IngestDeadline(fake, timeout_s=30, max_in_flight=2)  # type: ignore[arg-type]
    try:
        first = deadline.ingest_bytes(DICOM, source="dimse:A", label="1.2.3")
        again = deadline.ingest_bytes(DICOM, source="dimse:A", label="1.2.3")
    finally:
        deadline.close()
    assert (first.status, again.status) == (IngestStatus.STORED, IngestStatus.DUPLICATE)
    assert fake.calls == [(DICOM, "dimse:A"), (DICOM, "dimse:A")]


def test_a_late_ingest_answers_busy_then_finishes_and_logs_its_outcome(
    gated: GatedIngest, caplog: pytest.LogCaptureFixture
) -> None:
    deadline = IngestDeadline(gated, timeout_s=0.2, max_in_flight=2)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="node.dicom.ingest_deadline"):
        outcome = deadline.ingest_bytes(DICOM, source="dimse:A", label="1.2.3")
        assert outcome == late_outcome(0.2, queued=False)
        assert outcome.failure_reason == FAILURE_OUT_OF_RESOURCES
        assert outcome.message is not None and len(outcome.message) <= 64  # fits ErrorComment
        assert gated.stored == {}
        gated.gate.set()
        deadline.close()  # waits for the late ingest
    assert len(gated.stored) == 1  # stored once, after its sender was told to retry
    messages = [r.getMessage() for r in caplog.records]
    assert any("1.2.3 from dimse:A not finished after 0.2 s" in m for m in messages)
    assert any("late ingest of 1.2.3 from dimse:A ended" in m and "stored" in m for m in messages)


def test_with_every_slot_busy_a_new_ingest_is_refused_without_starting(
    gated: GatedIngest, caplog: pytest.LogCaptureFixture
) -> None:
    deadline = IngestDeadline(gated, timeout_s=0.2, max_in_flight=1)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="node.dicom.ingest_deadline"):
        assert deadline.ingest_bytes(DICOM, source="dimse:A", label="1.2.3").accepted is False
        refused = deadline.ingest_bytes(DICOM + b"2", source="dimse:A", label="1.2.4")
    assert refused == late_outcome(0.2, queued=True)
    assert refused.message is not None and len(refused.message) <= 64
    assert len(gated.calls) == 0 and gated.entered.acquire(timeout=30)
    assert not gated.entered.acquire(blocking=False)  # the refused one never started
    assert "1.2.4 from dimse:A refused after 0.2 s" in caplog.text
    gated.gate.set()
    deadline.close()
    assert len(gated.stored) == 1


def test_a_closed_deadline_refuses_with_busy() -> None:
    fake = FakeIngest()
    deadline = IngestDeadline(fake, timeout_s=1, max_in_flight=1)  # type: ignore[arg-type]
    deadline.close()
    deadline.close()
    outcome = deadline.ingest_bytes(DICOM, source="dimse:A", label="1.2.3")
    assert outcome.failure_reason == FAILURE_OUT_OF_RESOURCES
    assert fake.calls == []


@pytest.mark.parametrize(("timeout_s", "slots"), [(0, 1), (-1, 1), (1, 0)])
def test_nonsense_limits_are_refused(timeout_s: float, slots: int) -> None:
    with pytest.raises(ValueError, match="deadline"):
        IngestDeadline(FakeIngest(), timeout_s=timeout_s, max_in_flight=slots)  # type: ignore[arg-type]
