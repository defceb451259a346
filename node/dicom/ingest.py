"""One path from received bytes to a stored, de-identified instance.

Every ingest route (STOW-RS, C-STORE, folder import, PACS pull) calls
:meth:`IngestService.ingest_bytes`. It parses in memory, de-identifies, encodes
and stores in one step, and never raises for bad input: the caller gets an
:class:`IngestOutcome` saying stored, duplicate, or rejected and why.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path

import pydicom

from node.dicom.deid import Deidentifier, RelinkSealer
from node.dicom.parse import parse_instance
from node.errors import (
    FAILURE_CANNOT_UNDERSTAND,
    FAILURE_OUT_OF_RESOURCES,
    FAILURE_PROCESSING,
    DeidentificationError,
    DicomInputError,
    InstanceTooLargeError,
    NodeError,
    StoreError,
    StudyMismatchError,
)
from node.store import InstanceAttributes, InstanceStore, PutStatus

__all__ = ["IngestOutcome", "IngestService", "IngestStatus"]

_log = logging.getLogger(__name__)


class IngestStatus(enum.StrEnum):
    """What happened to one received instance."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class IngestOutcome:
    """The result of ingesting one instance.

    ``sop_*`` are the UIDs as the sender sent them (so it can match its
    records); ``stored_*`` are the de-identified UIDs the node serves.
    """

    status: IngestStatus
    sop_class_uid: str | None = None
    sop_instance_uid: str | None = None
    stored_sop_instance_uid: str | None = None
    stored_study_instance_uid: str | None = None
    stored_series_instance_uid: str | None = None
    quarantined: bool = False
    failure_reason: int | None = None
    message: str | None = None

    @property
    def accepted(self) -> bool:
        """Stored now or earlier."""
        return self.status is not IngestStatus.REJECTED


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
    """

    def __init__(
        self,
        store: InstanceStore,
        deidentifier: Deidentifier,
        *,
        max_instance_bytes: int,
        relink_sealer: RelinkSealer | None = None,
    ) -> None:
        self.store = store
        self.deidentifier = deidentifier
        self.max_instance_bytes = max_instance_bytes
        self.relink_sealer = relink_sealer

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
            return _rejected(exc)
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
        sop_class: str | None = None
        sop_instance: str | None = None
        try:
            ds = parse_instance(
                data, max_instance_bytes=self.max_instance_bytes, require_part10=require_part10
            )
            sop_class, sop_instance = str(ds.SOPClassUID), str(ds.SOPInstanceUID)
            if expected_study_uid is not None and str(ds.StudyInstanceUID) != expected_study_uid:
                raise StudyMismatchError(
                    f"instance belongs to study {ds.StudyInstanceUID}, not to the study "
                    f"{expected_study_uid} named in the request URL",
                    sop_class_uid=sop_class,
                    sop_instance_uid=sop_instance,
                )
            transfer_syntax = str(ds.file_meta.TransferSyntaxUID)
            result = self.deidentifier.deidentify(ds)
            clean = result.dataset
            attributes = InstanceAttributes.from_dataset(clean, transfer_syntax)
            if self.store.contains(attributes.sop_instance_uid):
                return self._outcome(IngestStatus.DUPLICATE, sop_class, sop_instance, attributes)
            encoded = _encode(clean)
            sealed = None
            if self.relink_sealer is not None:
                sealed = (
                    result.identity.pseudonym_patient_id,
                    self.relink_sealer.seal(result.identity.as_mapping()),
                )
            status = self.store.put(
                attributes,
                encoded,
                source=source,
                quarantine_reason=result.quarantine_reason,
                sealed_link=sealed,
            )
        except DicomInputError as exc:
            exc.sop_class_uid = exc.sop_class_uid or sop_class
            exc.sop_instance_uid = exc.sop_instance_uid or sop_instance
            return _rejected(exc)
        except DeidentificationError as exc:
            return IngestOutcome(
                IngestStatus.REJECTED,
                sop_class,
                sop_instance,
                failure_reason=exc.failure_reason,
                message=str(exc),
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
        except NodeError as exc:
            return IngestOutcome(
                IngestStatus.REJECTED,
                sop_class,
                sop_instance,
                failure_reason=FAILURE_PROCESSING,
                message=str(exc),
            )
        except Exception as exc:
            # Untrusted bytes can break pydicom's lazy value conversion anywhere in
            # de-identification; that is this instance's failure, never the service's.
            _log.warning("instance %s from %s is corrupt: %r", sop_instance, source, exc)
            return IngestOutcome(
                IngestStatus.REJECTED,
                sop_class,
                sop_instance,
                failure_reason=FAILURE_CANNOT_UNDERSTAND,
                message=f"corrupt data element: {type(exc).__name__}: {exc}"[:512],
            )
        ingest_status = (
            IngestStatus.STORED if status == PutStatus.STORED else IngestStatus.DUPLICATE
        )
        outcome = self._outcome(ingest_status, sop_class, sop_instance, attributes)
        if result.quarantine_reason is not None:
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


def _rejected(exc: DicomInputError) -> IngestOutcome:
    return IngestOutcome(
        IngestStatus.REJECTED,
        exc.sop_class_uid,
        exc.sop_instance_uid,
        failure_reason=exc.failure_reason,
        message=str(exc),
    )


def _encode(ds: pydicom.Dataset) -> bytes:
    buffer = BytesIO()
    try:
        pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    except Exception as exc:  # pydicom raises ValueError/TypeError/struct.error on bad values
        raise DeidentificationError(
            f"the de-identified instance could not be encoded: {exc}; "
            "report this instance to the Harmonia maintainers"
        ) from exc
    return buffer.getvalue()
