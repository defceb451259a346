"""A small C-STORE SCU: send files or data sets to a DICOM SCP.

For tests, benchmarks and operators checking that a node receives: the node
itself never pushes over DIMSE. Every instance goes through as few
associations as possible (one, unless the instances need more than the 128
presentation contexts PS3.8 allows per association), with ``TCP_NODELAY``
set on our side of the connection.

pynetdicom (3.0) has a race on the requesting side: ``send_c_store`` pauses the
association's reactor thread before it sends, but when that thread was slow to
wake from the previous pause (a loaded machine), it can still take the next
response off the queue, drop it ("Received unexpected C-STORE service
message") and leave ``send_c_store`` waiting for an answer that already came,
until the peer's network timeout aborts the association. :func:`send_files`
hands such a response back to ``send_c_store`` (:func:`keep_responses`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
from pydicom import Dataset
from pydicom.filereader import read_file_meta_info
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.events import EventHandlerType

from node.dicom.scp import set_tcp_nodelay
from node.errors import FAILURE_OUT_OF_RESOURCES, RemoteSourceError

__all__ = ["MAX_CONTEXTS_PER_ASSOCIATION", "StoreItem", "keep_responses", "send_files"]

_log = logging.getLogger(__name__)

_BUSY_PAUSE_S = 1.0

MAX_CONTEXTS_PER_ASSOCIATION = 128
"""PS3.8 §9.3.2.2: presentation context IDs are odd numbers 1-255."""

StoreItem = str | Path | Dataset
"""A file to send (read when its turn comes) or a data set already in memory."""


@dataclass(frozen=True)
class _Planned:
    index: int
    item: StoreItem
    context: tuple[str, str]  # (SOP Class UID, Transfer Syntax UID)


def send_files(
    items: Iterable[StoreItem],
    *,
    host: str,
    port: int,
    ae_title: str = "HARMONIA_SCU",
    called_ae: str = "HARMONIA",
    tcp_nodelay: bool = True,
    timeout: float = 30.0,
    busy_retries: int = 5,
) -> list[int]:
    """Send instances with C-STORE; returns each one's DIMSE status, in input order.

    Parameters
    ----------
    items
        Paths of DICOM files, or data sets (which need ``file_meta.TransferSyntaxUID``
        unless they were read from a file).
    host, port
        The SCP's address.
    ae_title
        Our calling AE title.
    called_ae
        The SCP's AE title.
    tcp_nodelay
        Disable Nagle's algorithm on our socket. Only benchmarks turn it off,
        to show what it costs.
    timeout
        Seconds for the association, each DIMSE exchange and the network.
    busy_retries
        Times an instance answered 0xA700 (out of resources: a Harmonia node
        says "node busy, send it again" when it could not store it in time)
        is sent again, a second apart, before its status is returned.

    Returns
    -------
    list[int]
        ``0x0000`` for success, else the failure or warning status the SCP answered.

    Raises
    ------
    RemoteSourceError
        The SCP cannot be reached, rejects or aborts the association, or
        sends no response to a C-STORE.
    """
    planned = [_plan(index, item) for index, item in enumerate(items)]
    statuses: dict[int, int] = {}
    for batch in _batches(planned):
        statuses.update(
            _send_batch(
                batch,
                host=host,
                port=port,
                ae_title=ae_title,
                called_ae=called_ae,
                tcp_nodelay=tcp_nodelay,
                timeout=timeout,
                busy_retries=busy_retries,
            )
        )
    return [statuses[p.index] for p in planned]


def _plan(index: int, item: StoreItem) -> _Planned:
    if isinstance(item, Dataset):
        ds = item
        transfer_syntax = _transfer_syntax(ds)
    else:
        meta: Dataset
        try:
            meta = read_file_meta_info(item)
        except Exception:  # no preamble or file meta: read the data set itself
            meta = Dataset()
        if "MediaStorageSOPClassUID" in meta and "TransferSyntaxUID" in meta:
            return _Planned(
                index, item, (str(meta.MediaStorageSOPClassUID), str(meta.TransferSyntaxUID))
            )
        ds = pydicom.dcmread(item, force=True, stop_before_pixels=True)
        transfer_syntax = _transfer_syntax(ds)
    if "SOPClassUID" not in ds:
        raise ValueError(f"item {index} has no SOPClassUID: it cannot be sent with C-STORE")
    return _Planned(index, item, (str(ds.SOPClassUID), transfer_syntax))


def _transfer_syntax(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return str(meta.TransferSyntaxUID)
    implicit = ds.original_encoding[0]
    return str(ImplicitVRLittleEndian if implicit in (None, True) else ExplicitVRLittleEndian)


def _batches(planned: Sequence[_Planned]) -> list[list[_Planned]]:
    """Split the items so that each association needs at most 128 contexts."""
    batches: list[list[_Planned]] = []
    contexts: set[tuple[str, str]] = set()
    for item in planned:
        if not batches or (
            item.context not in contexts and len(contexts) == MAX_CONTEXTS_PER_ASSOCIATION
        ):
            batches.append([])
            contexts = set()
        contexts.add(item.context)
        batches[-1].append(item)
    return batches


def _send_batch(
    batch: Sequence[_Planned],
    *,
    host: str,
    port: int,
    ae_title: str,
    called_ae: str,
    tcp_nodelay: bool,
    timeout: float,
    busy_retries: int,
) -> dict[int, int]:
    ae = AE(ae_title=ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.maximum_pdu_size = 1024 * 1024
    for sop_class, transfer_syntax in dict.fromkeys(p.context for p in batch):
        ae.add_requested_context(sop_class, transfer_syntax)
    handlers: list[EventHandlerType] = []
    if tcp_nodelay:
        handlers.append((evt.EVT_CONN_OPEN, _on_connection_open))
    peer = f"{called_ae}@{host}:{port}"
    assoc = ae.associate(host, port, ae_title=called_ae, evt_handlers=handlers)
    try:
        if not assoc.is_established:
            raise RemoteSourceError(_refusal(assoc, peer, ae_title), source=peer)
        keep_responses(assoc)
        statuses: dict[int, int] = {}
        message_id = 0
        for planned in batch:
            dataset = _load(planned.item)
            for attempt in range(busy_retries + 1):
                if attempt:
                    time.sleep(_BUSY_PAUSE_S)
                message_id = message_id % 0xFFFF + 1
                response = assoc.send_c_store(dataset, msg_id=message_id)
                if "Status" not in response:
                    raise RemoteSourceError(
                        f"{peer} sent no C-STORE response for item {planned.index} (timeout "
                        "or aborted association); see the SCP's log",
                        source=peer,
                    )
                statuses[planned.index] = int(response.Status)
                if statuses[planned.index] != FAILURE_OUT_OF_RESOURCES:
                    break
                _log.info("%s is busy (0xA700) for item %d; sending it again", peer, planned.index)
        return statuses
    finally:
        if assoc.is_established:
            assoc.release()
        ae.shutdown()


def keep_responses(assoc: Association) -> None:
    """Make the association's reactor hand back responses instead of dropping them.

    A requestor's reactor thread serves only requests from the peer; a
    response it takes (the race in the module docstring) goes back on the
    DIMSE queue, where the waiting ``send_c_store`` finds it. Call it once,
    right after the association is established, before sending.
    """
    serve = assoc._serve_request
    queue = assoc.dimse.msg_queue

    def serve_requests(msg: Any, context_id: int) -> None:
        if msg.is_valid_request:
            serve(msg, context_id)
        else:
            _log.debug("the association's reactor took a %s; handed back", msg.msg_type)
            queue.put((context_id, msg))

    assoc._serve_request = serve_requests  # type: ignore[method-assign]


def _load(item: StoreItem) -> Dataset:
    if isinstance(item, Dataset):
        return item
    ds = pydicom.dcmread(item, force=True)
    if "TransferSyntaxUID" not in ds.file_meta:
        ds.file_meta.TransferSyntaxUID = UID(_transfer_syntax(ds))
    return ds


def _refusal(assoc: Association, peer: str, ae_title: str) -> str:
    if assoc.is_rejected:
        primitive = assoc.acceptor.primitive
        reason = primitive.reason_str if primitive is not None else "no reason given"
        return (
            f"{peer} rejected the association from calling AE {ae_title!r}: {reason}; "
            "check that the SCP allows this AE title and the called AE title is right"
        )
    if assoc.is_aborted:
        return f"{peer} aborted the association; see the SCP's log"
    return f"cannot open an association with {peer}: is the SCP running at that address?"


def _on_connection_open(event: evt.Event) -> None:
    set_tcp_nodelay(event.assoc.dul.socket.socket if event.assoc.dul.socket else None)
