"""Start a real Orthanc PACS, with its DICOMweb plugin, on 127.0.0.1 for one test.

Orthanc 1.10 has no bind-address option: it listens on every interface, so it
runs with ``RemoteAccessAllowed: false`` (HTTP from loopback only) and the
tests talk to it on 127.0.0.1 only. It is stopped by PID (terminate, wait,
kill) when the context exits, and its storage lives under the test's tmp dir.

Usage::

    with running_orthanc(tmp_path) as orthanc:
        orthanc.upload(path.read_bytes())
        httpx.get(f"{orthanc.dicomweb_url}/studies")
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "ORTHANC_BINARY",
    "ORTHANC_DICOMWEB_PLUGIN",
    "OrthancServer",
    "OrthancUnavailableError",
    "orthanc_installed",
    "running_orthanc",
]

ORTHANC_BINARY = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
_PLUGIN_CANDIDATES = (
    "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
    "/usr/lib/orthanc/libOrthancDicomWeb.so",
)
ORTHANC_DICOMWEB_PLUGIN = next(
    (path for path in _PLUGIN_CANDIDATES if Path(path).exists()), _PLUGIN_CANDIDATES[0]
)
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0


class OrthancUnavailableError(RuntimeError):
    """Orthanc or its DICOMweb plugin is not installed, or it would not start."""


def orthanc_installed() -> bool:
    """Whether the Orthanc binary and its DICOMweb plugin are present."""
    return Path(ORTHANC_BINARY).exists() and Path(ORTHANC_DICOMWEB_PLUGIN).exists()


@dataclass(frozen=True)
class OrthancServer:
    """A running Orthanc: where to reach it and which process it is."""

    url: str
    dicomweb_url: str
    dicom_port: int
    aet: str
    pid: int

    def upload(self, data: bytes) -> dict[str, Any]:
        """Store one DICOM file through Orthanc's REST API; returns its JSON answer."""
        response = httpx.post(
            f"{self.url}/instances",
            content=data,
            headers={"Content-Type": "application/dicom"},
            timeout=30,
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def instance_count(self) -> int:
        """How many instances Orthanc holds."""
        response = httpx.get(f"{self.url}/statistics", timeout=10)
        response.raise_for_status()
        return int(response.json()["CountInstances"])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(root: Path, http_port: int, dicom_port: int, aet: str) -> dict[str, Any]:
    return {
        "Name": "harmonia-test-orthanc",
        "StorageDirectory": str(root / "storage"),
        "IndexDirectory": str(root / "index"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": aet,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "SslEnabled": False,
        "DicomCheckCalledAet": False,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowEcho": True,
        "DicomModalities": {},
        "OrthancPeers": {},
        "HttpsVerifyPeers": True,
        "SaveJobs": False,
        "StorageCompression": False,
        "StableAge": 1,
        "ExecuteLuaEnabled": False,
        "RestApiWriteToFileSystemEnabled": False,
        "Plugins": [ORTHANC_DICOMWEB_PLUGIN],
        "DicomWeb": {
            "Enable": True,
            "Root": "/dicom-web/",
            "EnableWado": False,
            "Ssl": False,
            "StudiesMetadata": "Full",
            "SeriesMetadata": "Full",
        },
    }


def _log_tail(log_path: Path, limit: int = 3000) -> str:
    try:
        return log_path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop exactly this process: SIGTERM, wait, then SIGKILL."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=_STOP_TIMEOUT_S)


@contextmanager
def running_orthanc(tmp_path: Path, *, aet: str = "ORTHANC") -> Iterator[OrthancServer]:
    """Run Orthanc with DICOMweb on free loopback ports until the block ends.

    Raises
    ------
    OrthancUnavailableError
        Orthanc or the plugin is missing, or it did not answer ``/system`` in 30 s
        (the message carries the end of its log).
    """
    if not orthanc_installed():
        raise OrthancUnavailableError(
            f"Orthanc ({ORTHANC_BINARY}) or its DICOMweb plugin ({ORTHANC_DICOMWEB_PLUGIN}) "
            "is not installed: apt-get install orthanc orthanc-dicomweb"
        )
    root = tmp_path / "orthanc"
    root.mkdir(parents=True, exist_ok=True)
    http_port, dicom_port = _free_port(), _free_port()
    config_path = root / "orthanc.json"
    config_path.write_text(json.dumps(_config(root, http_port, dicom_port, aet), indent=2))
    log_path = root / "orthanc.log"
    url = f"http://127.0.0.1:{http_port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [ORTHANC_BINARY, str(config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=root,
        )
    try:
        _wait_until_up(process, url, log_path)
        yield OrthancServer(
            url=url,
            dicomweb_url=f"{url}/dicom-web",
            dicom_port=dicom_port,
            aet=aet,
            pid=process.pid,
        )
    finally:
        _stop(process)


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise OrthancUnavailableError(
                f"Orthanc exited with status {process.returncode} while starting:\n"
                + _log_tail(log_path)
            )
        try:
            if httpx.get(f"{url}/system", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise OrthancUnavailableError(
        f"Orthanc did not answer {url}/system within {_START_TIMEOUT_S:g} s:\n"
        + _log_tail(log_path)
    )
