"""The PACS connection: a DICOMweb pull source (QIDO-RS) or a DIMSE peer (C-ECHO).

The node does not keep a PACS address in its settings (``pull`` takes
``--from``; the PACS pushes to the node's STOW-RS or C-STORE SCP), so the
doctor checks the peers it is given on its command line.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import httpx

from node.doctor.result import CheckResult, Problem, failed, ok

__all__ = ["dicomweb_check", "dimse_echo_check", "parse_dimse_peer"]


def dicomweb_check(
    url: str, *, token: str | None, ca_bundle: Path | None, timeout: float
) -> CheckResult:
    """A QIDO-RS study search (``limit=1``) answers 200 or 204."""
    name = "pacs dicomweb"
    root = url.rstrip("/")
    headers = {"Accept": "application/dicom+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=str(ca_bundle)) if ca_bundle else True
    )
    try:
        with httpx.Client(verify=verify, timeout=timeout) as client:
            response = client.get(f"{root}/studies", params={"limit": "1"}, headers=headers)
    except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
        return failed(
            name,
            Problem.PACS_UNREACHABLE,
            f"no answer from {root}: {exc}",
            "check the PACS's DICOMweb URL (e.g. Orthanc: http://pacs:8042/dicom-web), that "
            "its DICOMweb plugin is on, and the network path from this host",
        )
    if response.status_code in (401, 403):
        return failed(
            name,
            Problem.PACS_UNREACHABLE,
            f"the PACS refused the query ({response.status_code})",
            "give the PACS credentials: --pacs-token (or HARMONIA_PULL_TOKEN) as for "
            "'harmonia-node pull'",
        )
    if response.status_code not in (200, 204):
        return failed(
            name,
            Problem.PACS_UNREACHABLE,
            f"QIDO-RS {root}/studies answered {response.status_code}",
            "the URL must be the DICOMweb root (the path before /studies)",
        )
    return ok(name, f"QIDO-RS at {root} answers ({response.status_code})")


def parse_dimse_peer(text: str) -> tuple[str, str, int]:
    """``AE@host:port`` as ``(ae, host, port)``; ``ValueError`` if it is not one."""
    ae, at, address = text.partition("@")
    host, colon, port = address.rpartition(":")
    if not at or not colon or not ae or not host or not port.isdigit():
        raise ValueError(f"{text!r} is not AE@host:port (e.g. ORTHANC@pacs.hospital:4242)")
    return ae, host.strip("[]"), int(port)


def dimse_echo_check(peer: str, *, calling_ae: str, timeout: float) -> CheckResult:
    """A DICOM association with the peer opens and C-ECHO succeeds."""
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    name = "pacs dimse"
    try:
        called, host, port = parse_dimse_peer(peer)
    except ValueError as exc:
        return failed(name, Problem.PACS_UNREACHABLE, str(exc), "use AE@host:port")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        return failed(
            name,
            Problem.PACS_UNREACHABLE,
            f"nothing answers on {host}:{port}: {exc}",
            "check the PACS's DICOM port and the network path (firewall) from this host",
        )
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(Verification)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    try:
        return _echo(ae, peer, host, port, called, calling_ae)
    finally:
        ae.shutdown()


def _echo(ae: Any, peer: str, host: str, port: int, called: str, calling_ae: str) -> CheckResult:
    name = "pacs dimse"
    assoc = ae.associate(host, port, ae_title=called)
    if not assoc.is_established:
        why = "rejected" if assoc.is_rejected else "not established (no answer on that port?)"
        return failed(
            name,
            Problem.PACS_UNREACHABLE,
            f"association with {peer} {why}",
            f"check the PACS's AE title, host and port, and that it knows this node's AE "
            f"title {calling_ae!r} (in Orthanc: DicomModalities)",
        )
    try:
        status = assoc.send_c_echo()
    finally:
        assoc.release()
    code = getattr(status, "Status", None)
    if code != 0x0000:
        return failed(
            name,
            Problem.PACS_UNREACHABLE,
            f"C-ECHO to {peer} answered status {code!r}",
            "see the PACS's log for why it refused the verification",
        )
    return ok(name, f"C-ECHO to {peer} succeeded (calling AE {calling_ae})")
