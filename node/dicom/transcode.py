"""Transcoding stored instances to Explicit VR Little Endian for WADO-RS retrieve.

PS3.18 makes Explicit VR Little Endian the default transfer syntax of
``application/dicom``. Instances stored in Implicit VR Little Endian are
re-encoded; compressed ones are decoded with pydicom's pixel backends (the
same plugins ingest uses). Big-endian encodings are retired and pydicom
cannot convert them; those are served only as stored.
"""

from __future__ import annotations

from io import BytesIO

import pydicom
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from node.errors import RenderError

__all__ = ["can_transcode", "to_explicit_vr_little_endian"]

_NATIVE_LITTLE_ENDIAN = {
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
}


def can_transcode(transfer_syntax_uid: str) -> bool:
    """Whether an instance stored in this syntax can be served as Explicit VR Little Endian."""
    if transfer_syntax_uid in _NATIVE_LITTLE_ENDIAN:
        return True
    uid = UID(transfer_syntax_uid)
    if not uid.is_compressed:
        return False
    try:
        return bool(get_decoder(uid).is_available)
    except NotImplementedError:
        return False


def to_explicit_vr_little_endian(data: bytes) -> bytes:
    """Re-encode a Part 10 file as Explicit VR Little Endian, decoding pixels if needed.

    The SOP Instance UID is kept: the instance is the same, only its encoding
    changes. A YCbCr JPEG becomes RGB, as PS3.5 §8.2.1 expects of decoded data.

    Raises
    ------
    RenderError
        The pixel data cannot be decoded.
    """
    ds = pydicom.dcmread(BytesIO(data))
    syntax = UID(str(ds.file_meta.TransferSyntaxUID))
    if syntax == ExplicitVRLittleEndian:
        return data
    try:
        if syntax.is_compressed:
            ds.decompress(generate_instance_uid=False)
        else:
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        buffer = BytesIO()
        pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    except Exception as exc:  # decoders raise ValueError, RuntimeError, struct.error...
        raise RenderError(
            f"instance {ds.get('SOPInstanceUID', '?')} stored as {syntax} cannot be "
            f"transcoded to Explicit VR Little Endian ({exc}); ask for transfer-syntax=*"
        ) from exc
    return buffer.getvalue()
