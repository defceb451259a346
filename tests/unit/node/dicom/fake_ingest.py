"""An in-memory stand-in for IngestService: same signatures, no parsing or store."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from node.dicom.ingest import IngestOutcome, IngestStatus
from node.errors import FAILURE_CANNOT_UNDERSTAND


class FakeIngest:
    """Stores bytes by hash; rejects anything without 'DICM' at byte 128 (or a set reply)."""

    def __init__(self, reply: IngestOutcome | None = None) -> None:
        self.reply = reply
        self.calls: list[tuple[bytes, str]] = []
        self.stored: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def ingest_bytes(
        self, data: bytes, *, source: str, expected_study_uid: str | None = None
    ) -> IngestOutcome:
        with self._lock:
            self.calls.append((data, source))
            if self.reply is not None:
                return self.reply
            if data[128:132] != b"DICM":
                return IngestOutcome(
                    IngestStatus.REJECTED,
                    failure_reason=FAILURE_CANNOT_UNDERSTAND,
                    message="not DICOM",
                )
            key = hashlib.sha256(data).hexdigest()
            if key in self.stored:
                return IngestOutcome(IngestStatus.DUPLICATE, stored_sop_instance_uid=key)
            self.stored[key] = data
            return IngestOutcome(IngestStatus.STORED, stored_sop_instance_uid=key)

    def ingest_file(self, path: Path, *, source: str) -> IngestOutcome:
        return self.ingest_bytes(path.read_bytes(), source=source)


class GatedIngest(FakeIngest):
    """Holds every ingest until the gate opens (a database locked by another writer)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Semaphore(0)

    def ingest_bytes(
        self, data: bytes, *, source: str, expected_study_uid: str | None = None
    ) -> IngestOutcome:
        self.entered.release()
        self.gate.wait()
        return super().ingest_bytes(data, source=source)
