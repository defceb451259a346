"""An incremental parser for ``multipart/related`` bodies (RFC 2387, RFC 2046 §5.1).

STOW-RS bodies can hold thousands of instances; parsing them as they stream
in keeps memory at one part, not one request, and lets ingest start before
the upload ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from node.errors import InstanceTooLargeError, MultipartError, UnsupportedMediaTypeError

__all__ = ["MultipartRelatedParser", "Part", "parse_multipart_related_type"]

_CRLF = b"\r\n"


@dataclass(frozen=True)
class Part:
    """One body part: its headers (lower-case names) and its bytes."""

    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def content_type(self) -> str:
        """The part's media type without parameters, lower case ('' if absent)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


_MAX_BOUNDARY = 200


def parse_multipart_related_type(content_type: str | None) -> tuple[str, str | None]:
    """Return ``(boundary, type)`` of a ``multipart/related`` Content-Type header.

    Raises :class:`UnsupportedMediaTypeError` for another media type and
    :class:`MultipartError` when the boundary is missing.
    """
    if not content_type:
        raise UnsupportedMediaTypeError(
            'missing Content-Type; send multipart/related; type="application/dicom"'
        )
    message = Message()
    message["content-type"] = content_type
    if message.get_content_type() != "multipart/related":
        raise UnsupportedMediaTypeError(
            f"Content-Type {message.get_content_type()} is not accepted here; send "
            'multipart/related; type="application/dicom"'
        )
    boundary = message.get_param("boundary")
    # RFC 2046 caps a boundary at 70 characters, but Orthanc's DICOMweb client sends 73:
    # accept what real senders send, with a bound that still keeps the scan cheap.
    if not isinstance(boundary, str) or not boundary or len(boundary) > _MAX_BOUNDARY:
        raise MultipartError(
            f"multipart/related without a valid boundary parameter (1-{_MAX_BOUNDARY} chars)"
        )
    part_type = message.get_param("type")
    return boundary, part_type if isinstance(part_type, str) else None


class MultipartRelatedParser:
    """Feed bytes in, get complete parts out.

    Parameters
    ----------
    boundary
        The boundary from the Content-Type header.
    max_part_bytes
        A part growing past this raises :class:`InstanceTooLargeError`.
    """

    def __init__(self, boundary: str, *, max_part_bytes: int) -> None:
        self._delimiter = b"--" + boundary.encode("latin-1")
        self._body_delimiter = _CRLF + self._delimiter
        self._max_part_bytes = max_part_bytes
        self._buffer = bytearray()
        self._state = "preamble"
        self._part_headers: dict[str, str] = {}
        self._scan_from = 0
        self.parts_seen = 0

    @property
    def finished(self) -> bool:
        """Whether the closing delimiter has been read."""
        return self._state == "epilogue"

    def feed(self, chunk: bytes) -> list[Part]:
        """Add ``chunk`` and return every part it completed."""
        if self._state == "epilogue":
            return []
        self._buffer += chunk
        parts: list[Part] = []
        while True:
            step = getattr(self, f"_state_{self._state}")()
            if step is None:
                return parts
            if isinstance(step, Part):
                parts.append(step)

    def close(self) -> None:
        """Check the body ended with the closing delimiter."""
        if self._state != "epilogue":
            raise MultipartError(
                "multipart body ended before its closing boundary: the upload was cut "
                "short or the boundary is wrong"
            )

    # Each state handler returns None when it needs more bytes, True to go on,
    # or a completed Part.

    def _state_preamble(self) -> bool | None:
        at = self._buffer.find(self._delimiter)
        while at > 0 and self._buffer[at - 2 : at] != _CRLF:
            at = self._buffer.find(self._delimiter, at + 1)
        if at < 0:
            keep = len(self._delimiter) + 2
            if len(self._buffer) > 64 * 1024:
                raise MultipartError("no multipart boundary found in the first 64 KiB of the body")
            del self._buffer[: max(0, len(self._buffer) - keep)]
            return None
        del self._buffer[: at + len(self._delimiter)]
        self._state = "after_delimiter"
        return True

    def _state_after_delimiter(self) -> bool | None:
        if len(self._buffer) < 2:
            return None
        if self._buffer[:2] == b"--":
            self._state = "epilogue"
            self._buffer.clear()
            return None
        end = self._buffer.find(_CRLF)
        if end < 0:
            if len(self._buffer) > 1024:
                raise MultipartError("garbage after a multipart boundary")
            return None
        if self._buffer[:end].strip(b" \t"):
            raise MultipartError("unexpected bytes after a multipart boundary")
        del self._buffer[: end + 2]
        self._state = "headers"
        return True

    def _state_headers(self) -> bool | None:
        if self._buffer[:2] == _CRLF:
            header_block = b""
            consumed = 2
        else:
            end = self._buffer.find(_CRLF + _CRLF)
            if end < 0:
                if len(self._buffer) > 16 * 1024:
                    raise MultipartError("multipart part headers longer than 16 KiB")
                return None
            header_block = bytes(self._buffer[:end])
            consumed = end + 4
        headers: dict[str, str] = {}
        for line in header_block.decode("latin-1").split("\r\n"):
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise MultipartError(f"malformed part header line {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        del self._buffer[:consumed]
        self._part_headers = headers
        self._scan_from = 0
        self._state = "body"
        return True

    def _state_body(self) -> Part | None:
        at = self._buffer.find(self._body_delimiter, self._scan_from)
        if at < 0:
            if len(self._buffer) > self._max_part_bytes + len(self._body_delimiter):
                raise InstanceTooLargeError(
                    f"a multipart part exceeds the node's limit of {self._max_part_bytes} bytes "
                    "(max_instance_bytes)"
                )
            self._scan_from = max(0, len(self._buffer) - len(self._body_delimiter))
            return None
        if at > self._max_part_bytes:
            raise InstanceTooLargeError(
                f"a multipart part of {at} bytes exceeds the node's limit of "
                f"{self._max_part_bytes} bytes (max_instance_bytes)"
            )
        with memoryview(self._buffer) as view:
            body = bytes(view[:at])  # one copy (a bytearray slice would be a second)
        part = Part(self._part_headers, body)
        del self._buffer[: at + len(self._body_delimiter)]
        self._state = "after_delimiter"
        self.parts_seen += 1
        return part

    def _state_epilogue(self) -> None:
        return None
