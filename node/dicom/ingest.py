"""One path from received bytes to a stored, de-identified instance.

Every ingest route (STOW-RS, C-STORE, folder import, PACS pull) calls
:meth:`IngestService.ingest_bytes`. It prepares the instance (parse,
de-identify, encode: :mod:`node.dicom.prepare`), in a worker process when the
node runs a pool, then stores it, and never raises for bad input: the caller
gets an :class:`IngestOutcome` saying stored, duplicate, or rejected and why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from node.dicom.deid import Deidentifier, RelinkSealer
from node.dicom.ingest_workers import IngestWorkerPool
from node.dicom.outcome import IngestOutcome, IngestStatus, rejected
from node.dicom.prepare import InstancePreparer, PreparedInstance
from node.errors import (
    FAILURE_OUT_OF_RESOURCES,
    FAILURE_PROCESSING,
    DicomInputError,
    InstanceTooLargeError,
    StoreError,
)
from node.store import InstanceAttributes, InstanceStore, PutStatus, StagedBlob

__all__ = ["IngestObserver", "IngestOutcome", "IngestService", "IngestStatus"]

IngestObserver = Callable[[str, IngestOutcome, float], None]
"""Told of every ingested instance: ``(source, outcome, seconds)`` (metrics hooks)."""

_log = logging.getLogger(__name__)


class IngestService:
    """Parses, de-identifies and stores instances; thread-safe.

    Parameters
    ----------
    store
        Where de-identified instances go.
    deidentifier
        The site's PS3.15 Annex E profile with its keyed pseudonyms.
    max_instance_bytes
        Larger instances are rejected with 0xA700.
    relink_sealer
        When given, each study's original identities are kept, sealed to
        hospital IT's public key.
    workers
        A pool that prepares instances in worker processes; without one they
        are prepared on the calling thread.
    """

    def __init__(
        self,
        store: InstanceStore,
        deidentifier: Deidentifier,
        *,
        max_instance_bytes: int,
        relink_sealer: RelinkSealer | None = None,
        workers: IngestWorkerPool | None = None,
    ) -> None:
        self.store = store
        self.max_instance_bytes = max_instance_bytes
        self.preparer = InstancePreparer(
            deidentifier, max_instance_bytes=max_instance_bytes, relink_sealer=relink_sealer
        )
        self.workers = workers
        self._observers: list[IngestObserver] = []
        self._observers_lock = threading.Lock()

    def add_observer(self, observer: IngestObserver) -> Callable[[], None]:
        """Call ``observer`` after each instance; returns the function that removes it."""
        with self._observers_lock:
            self._observers = [*self._observers, observer]

        def remove() -> None:
            with self._observers_lock:
                self._observers = [o for o in self._observers if o is not observer]

        return remove

    def ingest_file(self, path: Path, *, source: str) -> IngestOutcome:
        """Ingest a file from disk (folder import)."""
        try:
            size = path.stat().st_size
            if size > self.max_instance_bytes:
                raise InstanceTooLargeError(
                    f"{path.name} is {size} bytes, over the node's limit of "
                    f"{self.max_instance_bytes} bytes (max_instance_bytes)"
                )
            data = path.read_bytes()
        except DicomInputError as exc:
            return rejected(exc)
        except OSError as exc:
            return IngestOutcome(
                IngestStatus.REJECTED,
                failure_reason=FAILURE_PROCESSING,
                message=f"cannot read {path}: {exc.strerror}",
            )
        return self.ingest_bytes(data, source=source)

    def ingest_bytes(
        self,
        data: bytes,
        *,
        source: str,
        expected_study_uid: str | None = None,
        require_part10: bool = False,
    ) -> IngestOutcome:
        """Parse, de-identify and store one encoded instance.

        Parameters
        ----------
        data
            The instance, normally a Part 10 file.
        source
            Provenance recorded with the instance (``stow:<token>``, ``dimse:<AE>``...).
        expected_study_uid
            For STOW-RS to ``/studies/{uid}``: the sender's Study Instance UID
            every instance must carry.
        require_part10
            Refuse data without the Part 10 preamble and ``DICM`` prefix.
        """
        started = time.perf_counter()
        outcome = self._ingest(data, source, expected_study_uid, require_part10)
        for observer in self._observers:
            observer(source, outcome, time.perf_counter() - started)
        return outcome

    def _ingest(
        self, data: bytes, source: str, expected_study_uid: str | None, require_part10: bool
    ) -> IngestOutcome:
        if self.workers is None:
            prepared = self.preparer.prepare(
                data,
                source=source,
                expected_study_uid=expected_study_uid,
                require_part10=require_part10,
            )
        else:
            prepared = self.workers.submit(
                data,
                source=source,
                expected_study_uid=expected_study_uid,
                require_part10=require_part10,
            ).result()
        if isinstance(prepared, IngestOutcome):
            return prepared
        return self.store_prepared(prepared, source=source)

    def store_prepared(self, prepared: PreparedInstance, *, source: str) -> IngestOutcome:
        """Store an instance the preparer made; a duplicate is reported, not stored twice."""
        sop_class, sop_instance = prepared.sop_class_uid, prepared.sop_instance_uid
        attributes = prepared.attributes
        try:
            if self.store.contains(attributes.sop_instance_uid):
                if isinstance(prepared.encoded, StagedBlob):
                    prepared.encoded.discard()
                return self._outcome(IngestStatus.DUPLICATE, sop_class, sop_instance, attributes)
            status = self.store.put(
                attributes,
                prepared.encoded,
                source=source,
                quarantine_reason=prepared.quarantine_reason,
                sealed_link=prepared.sealed_link,
            )
        except StoreError as exc:
            _log.error("store failed for %s from %s: %s", sop_instance, source, exc)
            return IngestOutcome(
                IngestStatus.REJECTED,
                sop_class,
                sop_instance,
                failure_reason=FAILURE_OUT_OF_RESOURCES,
                message=str(exc),
            )
        ingest_status = (
            IngestStatus.STORED if status == PutStatus.STORED else IngestStatus.DUPLICATE
        )
        outcome = self._outcome(ingest_status, sop_class, sop_instance, attributes)
        if prepared.quarantine_reason is not None:
            return replace(outcome, quarantined=True)
        return outcome

    @staticmethod
    def _outcome(
        status: IngestStatus, sop_class: str, sop_instance: str, attributes: InstanceAttributes
    ) -> IngestOutcome:
        return IngestOutcome(
            status,
            sop_class,
            sop_instance,
            stored_sop_instance_uid=attributes.sop_instance_uid,
            stored_study_instance_uid=attributes.study_instance_uid,
            stored_series_instance_uid=attributes.series_instance_uid,
        )
