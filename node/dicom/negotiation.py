"""Choosing what a WADO-RS retrieve returns from the client's ``Accept`` (PS3.18 §8.7.3).

Instances: ``multipart/related; type="application/dicom"`` with a
``transfer-syntax`` parameter. Absent, it defaults to Explicit VR Little
Endian (PS3.18 Table 8.7.3-2) and the node transcodes; ``*`` means "as
stored", as does a bare ``*/*``.

Frames and bulk data: ``multipart/related; type="application/octet-stream"``
(uncompressed, Explicit VR Little Endian by default; ``transfer-syntax=*`` is
as stored) or the compressed media type of the stored syntax, such as
``image/jp2`` (PS3.18 Table 8.7.3-5).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from node.dicom.accept import MediaRange
from node.dicom.transcode import can_transcode
from node.errors import UnsupportedTransferSyntaxError

__all__ = [
    "AS_STORED",
    "DICOM",
    "OCTET_STREAM",
    "FrameEncoding",
    "frame_media_type",
    "negotiate_frames",
    "negotiate_instances",
]

AS_STORED = "*"
DICOM = "application/dicom"
OCTET_STREAM = "application/octet-stream"

_NATIVE_LE = {str(ExplicitVRLittleEndian), str(ImplicitVRLittleEndian)}
# PS3.18 Table 8.7.3-5: media types of compressed pixel data.
_COMPRESSED_MEDIA_TYPES = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.5": "image/dicom-rle",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.92": "image/jpx",
    "1.2.840.10008.1.2.4.93": "image/jpx",
    "1.2.840.10008.1.2.4.201": "image/jphc",
    "1.2.840.10008.1.2.4.202": "image/jphc",
    "1.2.840.10008.1.2.4.203": "image/jphc",
    "1.2.840.10008.1.2.4.100": "video/mpeg2",
    "1.2.840.10008.1.2.4.101": "video/mpeg2",
    "1.2.840.10008.1.2.4.102": "video/mp4",
    "1.2.840.10008.1.2.4.103": "video/mp4",
    "1.2.840.10008.1.2.4.104": "video/mp4",
    "1.2.840.10008.1.2.4.105": "video/mp4",
    "1.2.840.10008.1.2.4.106": "video/mp4",
    "1.2.840.10008.1.2.4.107": "video/H265",
    "1.2.840.10008.1.2.4.108": "video/H265",
}
# Older clients (and dicomweb-client) still say image/x-dicom-rle.
_ALIASES = {"image/x-dicom-rle": "image/dicom-rle"}


@dataclass(frozen=True)
class FrameEncoding:
    """How frames are returned: decoded to raw little-endian bytes, or as stored.

    Parameters
    ----------
    decode
        Decode compressed frames to native Explicit VR Little Endian bytes.
    content_type
        The Content-Type of every part.
    """

    decode: bool
    content_type: str


def frame_media_type(transfer_syntax_uid: str) -> str:
    """The media type of one frame as stored: its image type, or octet-stream if native."""
    return _COMPRESSED_MEDIA_TYPES.get(transfer_syntax_uid, OCTET_STREAM)


def _stored_label(transfer_syntax_uid: str) -> str:
    syntax = (
        str(ExplicitVRLittleEndian) if transfer_syntax_uid in _NATIVE_LE else transfer_syntax_uid
    )
    return f"{frame_media_type(syntax)}; transfer-syntax={syntax}"


def _accepted_part(media_range: MediaRange, default_part: str) -> str | None:
    """The part type a range asks for, or None when it cannot be a multipart response."""
    if media_range.media_type == "multipart/related":
        part = media_range.part_type or default_part
        return _ALIASES.get(part, part)
    if media_range.media_type in ("*/*", "multipart/*"):
        return "*/*"
    return None


def negotiate_instances(ranges: Sequence[MediaRange], stored: Iterable[str]) -> str:
    """Pick the transfer syntax for retrieving instances.

    Parameters
    ----------
    ranges
        The parsed ``Accept`` header, best first.
    stored
        The stored transfer syntaxes of the instances to return.

    Returns
    -------
    str
        :data:`AS_STORED`, or Explicit VR Little Endian's UID (transcode).

    Raises
    ------
    UnsupportedTransferSyntaxError
        No range can be satisfied (HTTP 406).
    """
    syntaxes = set(stored)
    for media_range in ranges:
        part = _accepted_part(media_range, DICOM)
        if part is None or not MediaRange(part).matches(DICOM):
            continue
        wanted = media_range.transfer_syntax
        if wanted is None:
            wanted = AS_STORED if part == "*/*" else str(ExplicitVRLittleEndian)
        if wanted == AS_STORED or syntaxes <= {wanted}:
            return AS_STORED
        if wanted == ExplicitVRLittleEndian and all(can_transcode(s) for s in syntaxes):
            return str(ExplicitVRLittleEndian)
    raise UnsupportedTransferSyntaxError(
        f"cannot satisfy Accept for instances stored as {', '.join(sorted(syntaxes))}; ask for "
        f'multipart/related; type="{DICOM}" with transfer-syntax=* (as stored) or '
        f"transfer-syntax={ExplicitVRLittleEndian} (decoded where the node can)"
    )


def negotiate_frames(ranges: Sequence[MediaRange], stored: str) -> FrameEncoding:
    """Pick how to return the frames of an instance stored in ``stored``.

    Raises
    ------
    UnsupportedTransferSyntaxError
        No range can be satisfied (HTTP 406).
    """
    native = stored in _NATIVE_LE
    raw = FrameEncoding(True, f"{OCTET_STREAM}; transfer-syntax={ExplicitVRLittleEndian}")
    as_stored = FrameEncoding(False, _stored_label(stored))
    for media_range in ranges:
        part = _accepted_part(media_range, OCTET_STREAM)
        if part is None:
            continue
        wanted = media_range.transfer_syntax
        if part == OCTET_STREAM:
            if wanted == AS_STORED or (wanted == stored and not native):
                return FrameEncoding(False, f"{OCTET_STREAM}; transfer-syntax={stored}")
            if wanted in (None, str(ExplicitVRLittleEndian)) and (native or can_transcode(stored)):
                return raw
            continue
        if part.endswith("/*"):
            # */* or image/*: the stored encoding when the range admits it.
            if MediaRange(part).matches(frame_media_type(stored)) and wanted in (
                None,
                AS_STORED,
                stored,
            ):
                return as_stored
            if MediaRange(part).matches(OCTET_STREAM) and (native or can_transcode(stored)):
                return raw
            continue
        if part == frame_media_type(stored) and not native and wanted in (None, AS_STORED, stored):
            return as_stored
    raise UnsupportedTransferSyntaxError(
        f"cannot satisfy Accept for frames stored as {stored}; ask for "
        f'multipart/related; type="{OCTET_STREAM}" (decoded) or '
        f'type="{frame_media_type(stored)}"; transfer-syntax={stored} (as stored)'
    )
