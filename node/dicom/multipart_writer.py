"""Writing ``multipart/related`` response bodies (RFC 2387) one part at a time.

WADO-RS answers can hold a whole study; encoding parts lazily keeps the
server's memory at one instance while the response streams.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator

__all__ = ["iter_multipart", "multipart_content_type", "new_boundary"]


def new_boundary() -> str:
    """A fresh boundary that cannot occur by chance in a part."""
    return f"harmonia-{secrets.token_hex(16)}"


def multipart_content_type(part_type: str, boundary: str) -> str:
    """The response Content-Type, e.g. ``multipart/related; type="application/dicom"; ...``.

    ``part_type`` is the parts' media type without parameters.
    """
    return f'multipart/related; type="{part_type}"; boundary={boundary}'


def iter_multipart(parts: Iterable[tuple[str, bytes]], boundary: str) -> Iterator[bytes]:
    """Encode ``(content_type, body)`` pairs as a multipart body; bodies are not copied."""
    delimiter = f"--{boundary}\r\n".encode("ascii")
    for content_type, body in parts:
        header = f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        yield delimiter + header.encode("ascii")
        yield body
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode("ascii")
