"""Sample DICOM inputs for tests: pydicom's bundled files and multipart bodies."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

from pydicom.data import get_testdata_file


def pydicom_file(name: str) -> Path:
    """Path of one of pydicom's bundled test files."""
    path = get_testdata_file(name, download=False)
    assert path is not None, name
    return Path(str(path))


def multipart_body(
    parts: Sequence[bytes], *, part_type: str = "application/dicom"
) -> tuple[bytes, str]:
    """Encode ``parts`` as multipart/related; returns (body, content-type header)."""
    boundary = f"harmonia-{uuid.uuid4().hex}"
    chunks = []
    for part in parts:
        chunks.append(
            f"--{boundary}\r\nContent-Type: {part_type}\r\n\r\n".encode() + part + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f'multipart/related; type="application/dicom"; boundary={boundary}'
