"""A DIMSE C-STORE SCP that feeds every received instance into the node's ingest.

Hospital PACS and modalities that do not speak DICOMweb push to the node over
DIMSE. :class:`StoreScp` accepts every storage SOP class pynetdicom knows, in
every transfer syntax pydicom knows, answers C-ECHO, and optionally admits only
an allowlist of calling AE titles. Each C-STORE goes through
:meth:`node.dicom.ingest.IngestService.ingest_bytes` unchanged (no decode and
re-encode in between) and its outcome becomes the DIMSE status.

Every C-STORE is answered within ``timeout_s`` (8 s by default, under the
10 s DIMSE timeout Orthanc's SCU uses and pynetdicom's 30 s): an ingest still
running then (the database locked by another writer, an overloaded machine)
answers 0xA700 "node busy, send it again" and finishes in the background
(:mod:`node.dicom.ingest_deadline`). Without that bound a request could wait
out the store's 30 s busy timeout, and pynetdicom, which counts the handler's
time against the association's idle timer, aborted the association with the
answer unsent.

Presentation contexts: PS3.8 allows at most 128 contexts per association, but
that limit binds what one *requestor* proposes, not what an acceptor supports.
The SCP therefore supports all ~170 storage SOP classes, each with all 39
transfer syntaxes, and accepts whatever subset a peer proposes.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydicom import Dataset
from pydicom.uid import AllTransferSyntaxes
from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from node.dicom.ingest_deadline import IngestDeadline
from node.errors import (
    FAILURE_CANNOT_UNDERSTAND,
    FAILURE_DATASET_MISMATCH,
    FAILURE_OUT_OF_RESOURCES,
    FAILURE_PROCESSING,
    FAILURE_SOP_CLASS_NOT_SUPPORTED,
)
from shared.errors import ConfigurationError

if TYPE_CHECKING:
    from pynetdicom.association import Association
    from pynetdicom.events import EventHandlerType
    from pynetdicom.transport import ThreadedAssociationServer

    from node.dicom.ingest import IngestOutcome, IngestService

__all__ = [
    "ALL_TRANSFER_SYNTAXES",
    "DEFAULT_TIMEOUT_S",
    "StoreScp",
    "dimse_status",
    "set_tcp_nodelay",
]

_log = logging.getLogger(__name__)

ALL_TRANSFER_SYNTAXES: tuple[str, ...] = tuple(str(uid) for uid in AllTransferSyntaxes)
"""Every transfer syntax pydicom knows; the ingest can store all of them."""

STATUS_SUCCESS = 0x0000
DEFAULT_TIMEOUT_S = 8.0
"""Seconds within which every C-STORE is answered (0xA700 "node busy" when not stored yet)."""
# pynetdicom aborts an association whose idle timer (restarted only when data
# arrives, so a handler's time counts) runs out: keep it well above timeout_s.
_MIN_NETWORK_TIMEOUT_S = 60.0
_ERROR_COMMENT_MAX = 64  # ErrorComment (0000,0902) is LO: at most 64 characters.
# Failure codes PS3.4 Annex B.2.3 defines for C-STORE, kept as they come from the ingest.
_C_STORE_FAILURES = frozenset(
    {
        FAILURE_OUT_OF_RESOURCES,
        FAILURE_DATASET_MISMATCH,
        FAILURE_CANNOT_UNDERSTAND,
        FAILURE_PROCESSING,
        FAILURE_SOP_CLASS_NOT_SUPPORTED,
    }
)


def set_tcp_nodelay(sock: socket.socket | None) -> None:
    """Disable Nagle's algorithm on an association's socket.

    pynetdicom never sets ``TCP_NODELAY``. A C-STORE exchange is a series of
    small writes (the command, then the data PDUs, then a short response), so
    with Nagle on, each instance waits for the peer's delayed ACK: ~14
    instances/s instead of hundreds on loopback. Both ends must set it.
    """
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def dimse_status(outcome: IngestOutcome) -> Dataset:
    """The C-STORE response status for one ingest outcome.

    Stored and duplicate both answer Success (0x0000). A duplicate is an
    instance the node already holds, byte for byte after de-identification:
    C-STORE is meant to be idempotent, and a sender retrying after a lost
    response (or re-sending a whole study) must not see failures for data
    that is safely stored, or it will retry forever or alert an operator.

    A rejection answers the ingest's PS3.4 failure code when C-STORE defines
    it, else the nearest one (``0xCxxx`` as "cannot understand", anything else
    as "processing failure"), with the reason in ErrorComment (LO, 64 chars).
    """
    status = Dataset()
    if outcome.accepted:
        status.Status = STATUS_SUCCESS
        return status
    code = outcome.failure_reason if outcome.failure_reason is not None else FAILURE_PROCESSING
    if code not in _C_STORE_FAILURES:
        code = FAILURE_CANNOT_UNDERSTAND if code & 0xF000 == 0xC000 else FAILURE_PROCESSING
    status.Status = code
    comment = " ".join((outcome.message or "rejected").split())
    # LO forbids backslash and control characters; keep it to 64 characters.
    comment = comment.replace("\\", "/")
    if len(comment) > _ERROR_COMMENT_MAX:
        comment = comment[: _ERROR_COMMENT_MAX - 3] + "..."
    status.ErrorComment = comment
    return status


class StoreScp:
    """A C-STORE and C-ECHO SCP in background threads; one thread per association.

    Parameters
    ----------
    ingest
        Receives every instance; must be thread-safe (associations run in
        parallel).
    ae_title
        The SCP's own AE title (the called AE title peers address).
    host
        Address to listen on; ``127.0.0.1`` unless the PACS is on another host.
    port
        TCP port; ``0`` picks a free one (see :attr:`port`).
    allow_ae
        Calling AE titles admitted; others are rejected with A-ASSOCIATE-RJ
        "calling AE title not recognised". Empty admits everyone (logged as a
        warning on start).
    maximum_associations
        Concurrent associations admitted; more are rejected (transient,
        "local limit exceeded") so the sender retries later.
    timeout_s
        Every C-STORE is answered within this many seconds; one not stored
        by then gets 0xA700 (node busy) while its ingest goes on. Keep it
        under the senders' DIMSE timeout.
    """

    def __init__(
        self,
        ingest: IngestService,
        *,
        ae_title: str,
        host: str = "127.0.0.1",
        port: int,
        allow_ae: Sequence[str] = (),
        maximum_associations: int = 10,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._ingest = ingest
        self.ae_title = ae_title
        self.host = host
        self._requested_port = port
        self.allow_ae = tuple(allow_ae)
        self._maximum_associations = maximum_associations
        self.timeout_s = timeout_s
        self._ae: AE | None = None
        self._server: ThreadedAssociationServer | None = None
        self._deadline: IngestDeadline | None = None

    @property
    def port(self) -> int:
        """The port actually listened on (meaningful after :meth:`start`)."""
        if self._server is None:
            return self._requested_port
        return int(self._server.server_address[1])

    @property
    def active_associations(self) -> list[Association]:
        """The associations open right now (empty when stopped)."""
        return list(self._server.active_associations) if self._server is not None else []

    @property
    def running(self) -> bool:
        """Whether the SCP is listening."""
        return self._server is not None

    def start(self) -> None:
        """Listen in background threads; returns once the socket is bound and listening.

        Raises
        ------
        ConfigurationError
            The address cannot be bound (port in use, or not allowed).
        """
        if self._server is not None:
            return
        # Room for an abandoned ingest per association besides the one it waits for.
        deadline = IngestDeadline(
            self._ingest, timeout_s=self.timeout_s, max_in_flight=2 * self._maximum_associations
        )
        ae = self._build_ae()
        handlers: list[EventHandlerType] = [
            (evt.EVT_CONN_OPEN, self._on_connection_open),
            (evt.EVT_C_STORE, self._on_c_store),
            (evt.EVT_C_ECHO, _on_c_echo),
        ]
        try:
            server = ae.start_server(
                (self.host, self._requested_port), block=False, evt_handlers=handlers
            )
        except OSError as exc:
            deadline.close()
            raise ConfigurationError(
                f"cannot listen for DICOM on {self.host}:{self._requested_port}: "
                f"{exc.strerror or exc}; choose another --dicom-port or stop what holds it",
                setting="dicom_port",
            ) from exc
        self._ae, self._server, self._deadline = ae, server, deadline
        if not self.allow_ae:
            _log.warning(
                "C-STORE SCP %s on %s:%d accepts associations from ANY calling AE title; "
                "set --allow-ae to admit only your PACS",
                self.ae_title,
                self.host,
                self.port,
            )
        _log.info(
            "C-STORE SCP %s listening on %s:%d (%d storage SOP classes)",
            self.ae_title,
            self.host,
            self.port,
            len(AllStoragePresentationContexts),
        )

    def stop(self) -> None:
        """Stop listening, end the open associations, wait for ingests in flight (idempotent)."""
        server, ae, deadline = self._server, self._ae, self._deadline
        self._server = self._ae = self._deadline = None
        if server is not None:
            server.shutdown()
        if ae is not None:
            ae.shutdown()
        if deadline is not None:
            deadline.close()

    def __enter__(self) -> StoreScp:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _build_ae(self) -> AE:
        ae = AE(ae_title=self.ae_title)
        ae.maximum_associations = self._maximum_associations
        ae.network_timeout = max(_MIN_NETWORK_TIMEOUT_S, 3 * self.timeout_s)
        # Receive PDUs up to 1 MiB: fewer, larger reads than pynetdicom's 16 KiB default.
        ae.maximum_pdu_size = 1024 * 1024
        for context in AllStoragePresentationContexts:
            if context.abstract_syntax is not None:
                ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification, ALL_TRANSFER_SYNTAXES)
        if self.allow_ae:
            # pynetdicom answers A-ASSOCIATE-RJ (permanent, service-user,
            # reason 3 "calling AE title not recognised") to anyone else.
            ae.require_calling_aet = list(self.allow_ae)
        return ae

    @staticmethod
    def _on_connection_open(event: evt.Event) -> None:
        set_tcp_nodelay(event.assoc.dul.socket.socket if event.assoc.dul.socket else None)

    def _on_c_store(self, event: evt.Event) -> Dataset:
        calling_ae = event.assoc.requestor.ae_title.strip()
        try:
            data = event.encoded_dataset(include_meta=True)
        except Exception as exc:  # pynetdicom raises assorted errors on a broken file meta
            _log.warning("C-STORE from %s: unusable data set: %s", calling_ae, exc)
            status = Dataset()
            status.Status = FAILURE_CANNOT_UNDERSTAND
            status.ErrorComment = "data set or file meta could not be encoded"
            return status
        deadline = self._deadline
        if deadline is None:  # stopped while this association was open
            status = Dataset()
            status.Status = FAILURE_OUT_OF_RESOURCES
            status.ErrorComment = "the node's DICOM service is stopping; send it again"
            return status
        label = str(getattr(event.request, "AffectedSOPInstanceUID", None) or "an instance")
        outcome = deadline.ingest_bytes(data, source=f"dimse:{calling_ae}", label=label)
        if not outcome.accepted:
            _log.warning(
                "C-STORE from %s of %s rejected (0x%04X): %s",
                calling_ae,
                outcome.sop_instance_uid or label,
                outcome.failure_reason or FAILURE_PROCESSING,
                outcome.message,
            )
        return dimse_status(outcome)


def _on_c_echo(event: evt.Event) -> int:
    return STATUS_SUCCESS
