"""Recording every byte the coordinator receives, after TLS: the privacy tests' witness.

With ``capture_dir`` set (development profile only; the settings refuse it
otherwise and ``serve`` warns at start), each listener's HTTP protocol is
wrapped by :func:`capturing_protocol`: every chunk asyncio hands to the
protocol's ``data_received`` (the decrypted bytes of a TLS connection, exactly
what the HTTP parser then reads) is appended to a file of its own per
connection, ``LISTENER-PID-N.bin``, before the request is parsed. The canary
test searches these files for the values planted in the nodes' DICOM headers:
what the coordinator actually received, not what a node meant to send.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path
from typing import Any, BinaryIO

from uvicorn.protocols.http.auto import AutoHTTPProtocol

__all__ = ["CaptureFiles", "capturing_protocol", "listener_protocol"]


class CaptureFiles:
    """Numbered capture files of one listener under ``directory`` (created 0700)."""

    def __init__(self, directory: Path, listener: str) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory = directory
        self.listener = listener
        self._numbers = itertools.count(1)

    def open(self) -> BinaryIO:
        """A new file for one connection."""
        path = self.directory / f"{self.listener}-{os.getpid()}-{next(self._numbers):06d}.bin"
        return path.open("ab", buffering=0)


def capturing_protocol(files: CaptureFiles, base: type[Any] = AutoHTTPProtocol) -> type[Any]:
    """``base`` (a uvicorn HTTP protocol class) that records what each connection receives."""

    class CapturingProtocol(base):  # type: ignore[misc]
        _capture: BinaryIO | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:
            self._capture = files.open()
            super().connection_made(transport)

        def data_received(self, data: bytes) -> None:
            if self._capture is not None:
                self._capture.write(data)
            super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._capture is not None:
                self._capture.close()
                self._capture = None
            super().connection_lost(exc)

    CapturingProtocol.__name__ = f"Capturing{base.__name__}"
    CapturingProtocol.__qualname__ = CapturingProtocol.__name__
    return CapturingProtocol


def listener_protocol(
    capture_dir: Path | None, listener: str, base: type[Any] = AutoHTTPProtocol
) -> type[Any]:
    """The HTTP protocol a listener serves with: ``base``, recording when ``capture_dir`` is set."""
    if capture_dir is None:
        return base
    return capturing_protocol(CaptureFiles(capture_dir, listener), base)
