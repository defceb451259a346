"""The CPU half of ingest: parse, de-identify and encode one instance, touching no store.

:class:`InstancePreparer` turns received bytes into a :class:`PreparedInstance`
(the de-identified file and the attributes its rows need) or a rejected
:class:`~node.dicom.outcome.IngestOutcome`. It holds no connection and no
file handle, so it runs the same in the serving process or in a worker
process (:mod:`node.dicom.ingest_workers`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pydicom

from node.dicom.deid import Deidentifier, RelinkSealer
from node.dicom.indexed import indexed_attributes
from node.dicom.outcome import IngestOutcome, IngestStatus, rejected
from node.dicom.parse import parse_instance
from node.dicom.part10 import encode_part10
from node.errors import (
    FAILURE_CANNOT_UNDERSTAND,
    FAILURE_PROCESSING,
    DeidentificationError,
    DicomInputError,
    NodeError,
    StudyMismatchError,
)
from node.store import InstanceAttributes, StagedBlob, stage_blob

__all__ = ["InstancePreparer", "PreparedInstance"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedInstance:
    """A de-identified instance ready to store.

    ``sop_class_uid`` and ``sop_instance_uid`` are the sender's, for its
    response; ``attributes`` carry the de-identified identity; ``encoded`` is
    the file, or the staged file a preparer with a staging root wrote.
    """

    sop_class_uid: str
    sop_instance_uid: str
    attributes: InstanceAttributes
    encoded: bytes | StagedBlob
    quarantine_reason: str | None
    sealed_link: tuple[str, bytes] | None


class InstancePreparer:
    """Parses, de-identifies and encodes instances; never raises for bad input.

    Parameters
    ----------
    deidentifier
        The site's PS3.15 Annex E profile with its keyed pseudonyms.
    max_instance_bytes
        Larger instances are rejected with 0xA700.
    relink_sealer
        When given, each instance's original identities are sealed to
        hospital IT's public key.
    staging_root
        A file blob store's root: the encoded file is staged there (see
        :func:`~node.store.blobs.stage_blob`) instead of returned as bytes.
        Workers use it, so files never travel back through a pipe.
    fsync
        Whether staged files are fsync'ed.
    """

    def __init__(
        self,
        deidentifier: Deidentifier,
        *,
        max_instance_bytes: int,
        relink_sealer: RelinkSealer | None = None,
        staging_root: Path | None = None,
        fsync: bool = True,
    ) -> None:
        self.deidentifier = deidentifier
        self.max_instance_bytes = max_instance_bytes
        self.relink_sealer = relink_sealer
        self.staging_root = staging_root
        self.fsync = fsync

    def prepare(
        self,
        data: bytes,
        *,
        source: str,
        expected_study_uid: str | None = None,
        require_part10: bool = False,
    ) -> PreparedInstance | IngestOutcome:
        """Return the prepared instance, or the outcome that rejects it."""
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
            attributes = indexed_attributes(clean, transfer_syntax)
            file_bytes = _encode(clean)
            encoded: bytes | StagedBlob = file_bytes
            if self.staging_root is not None:
                encoded = stage_blob(self.staging_root, file_bytes, fsync=self.fsync)
            sealed = None
            if self.relink_sealer is not None:
                sealed = (
                    result.identity.pseudonym_patient_id,
                    self.relink_sealer.seal(result.identity.as_mapping()),
                )
        except DicomInputError as exc:
            exc.sop_class_uid = exc.sop_class_uid or sop_class
            exc.sop_instance_uid = exc.sop_instance_uid or sop_instance
            return rejected(exc)
        except DeidentificationError as exc:
            return IngestOutcome(
                IngestStatus.REJECTED,
                sop_class,
                sop_instance,
                failure_reason=exc.failure_reason,
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
        return PreparedInstance(
            sop_class,
            sop_instance,
            attributes,
            encoded,
            result.quarantine_reason,
            sealed,
        )


def _encode(ds: pydicom.Dataset) -> bytes:
    try:
        return encode_part10(ds).data
    except Exception as exc:  # pydicom raises ValueError/TypeError/struct.error on bad values
        raise DeidentificationError(
            f"the de-identified instance could not be encoded: {exc}; "
            "report this instance to the Harmonia maintainers"
        ) from exc
