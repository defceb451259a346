"""Sending phantom series to a node the way a PACS would: STOW-RS and C-STORE.

:func:`stow_series` posts Part 10 files as ``multipart/related;
type="application/dicom"`` (DICOMweb STOW-RS, PS3.18 §10.5) with the node's
token; :func:`cstore_series` opens a DIMSE association to the node's C-STORE
SCP (``serve --dicom-port``) with :func:`node.dicom.scu.send_files`.
:func:`series_numbers` reads back, over QIDO-RS, which de-identified series
holds which case (the node keeps SeriesNumber), so simulated readers know the
ground truth of the series they are given.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path

import httpx
from pydicom.dataset import Dataset

from coordinator.sandbox.errors import SandboxError
from shared.phantoms import dataset_to_bytes

__all__ = ["cstore_series", "multipart_related", "series_numbers", "stow_series"]

_SERIES_UID = "0020000E"
_SERIES_NUMBER = "00200011"


def multipart_related(parts: Iterable[bytes], boundary: str) -> bytes:
    """A ``multipart/related`` body of ``application/dicom`` parts."""
    chunks = []
    for part in parts:
        chunks.append(
            f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + part + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks)


def stow_series(url: str, token: str, datasets: Sequence[Dataset]) -> int:
    """STOW-RS ``datasets`` to the node at ``url``; returns how many it stored."""
    boundary = f"harmonia-sandbox-{secrets.token_hex(8)}"
    body = multipart_related((dataset_to_bytes(ds) for ds in datasets), boundary)
    response = httpx.post(
        f"{url}/dicom-web/studies",
        content=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json",
        },
        timeout=300,
    )
    if response.status_code != 200:
        raise SandboxError(f"STOW-RS to {url} answered {response.status_code}: {response.text}")
    stored = response.json().get("00081199", {}).get("Value", [])
    return len(stored)


def cstore_series(host: str, port: int, datasets: Sequence[Dataset], folder: Path) -> int:
    """C-STORE ``datasets`` to the node's SCP; returns how many it stored (status 0).

    The instances are written as Part 10 files under ``folder`` first and sent
    from there, as a PACS or ``storescu`` sends files.
    """
    from node.dicom.scu import send_files  # pynetdicom only when the sandbox sends

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, ds in enumerate(datasets):
        path = folder / f"{index:05d}.dcm"
        path.write_bytes(dataset_to_bytes(ds))
        paths.append(path)
    statuses = send_files(paths, host=host, port=port, ae_title="SANDBOX_PACS", timeout=120)
    failed = [f"0x{s:04X}" for s in statuses if s != 0]
    if failed:
        raise SandboxError(
            f"C-STORE to {host}:{port} failed for {len(failed)} instance(s): " + ", ".join(failed)
        )
    return len(statuses)


def series_numbers(url: str, token: str) -> dict[str, int]:
    """De-identified SeriesInstanceUID -> SeriesNumber of every series the node holds."""
    response = httpx.get(
        f"{url}/dicom-web/series",
        params={"includefield": "00200011", "limit": "1000"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/dicom+json"},
        timeout=60,
    )
    if response.status_code != 200:
        raise SandboxError(f"QIDO-RS on {url} answered {response.status_code}: {response.text}")
    numbers = {}
    for entry in response.json():
        uid = entry.get(_SERIES_UID, {}).get("Value", [None])[0]
        number = entry.get(_SERIES_NUMBER, {}).get("Value", [None])[0]
        if uid is not None and number is not None:
            numbers[str(uid)] = int(number)
    return numbers
