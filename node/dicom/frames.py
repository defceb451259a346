"""Single frames out of a stored instance, for WADO-RS ``/frames/{list}`` (PS3.18 §10.4.1.1.4).

A frame is returned either as stored (one encapsulated fragment set for a
compressed syntax, a slice of Pixel Data for a native one) or decoded to raw
little-endian bytes laid out as Explicit VR Little Endian would hold them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from pydicom import Dataset
from pydicom.encaps import get_frame
from pydicom.pixels.utils import pack_bits, pixel_array
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from node.errors import NotFoundError, QueryError, RenderError

__all__ = ["check_frames", "frame_count", "iter_frames", "parse_frame_numbers"]

_MAX_FRAMES_PER_REQUEST = 10_000
_NATIVE_LE = {ExplicitVRLittleEndian, ImplicitVRLittleEndian}


def parse_frame_numbers(text: str) -> list[int]:
    """Parse a comma-separated list of 1-based frame numbers, e.g. ``"1,3,5"``.

    Raises
    ------
    QueryError
        An entry is not a positive integer, or the list is too long.
    """
    numbers: list[int] = []
    for item in text.split(","):
        item = item.strip()
        if not item.isdigit() or int(item) < 1:
            raise QueryError(
                f"frame list {text!r} must be comma-separated frame numbers starting at 1",
                parameter="frames",
            )
        numbers.append(int(item))
    if len(numbers) > _MAX_FRAMES_PER_REQUEST:
        raise QueryError(
            f"at most {_MAX_FRAMES_PER_REQUEST} frames per request", parameter="frames"
        )
    return numbers


def frame_count(ds: Dataset) -> int:
    """Number of frames of an image instance (0 when it has no Pixel Data)."""
    if "PixelData" not in ds:
        return 0
    try:
        return max(int(ds.get("NumberOfFrames") or 1), 1)
    except (TypeError, ValueError):
        return 1


def check_frames(ds: Dataset, numbers: Sequence[int]) -> None:
    """Raise :class:`NotFoundError` unless every frame number exists in ``ds``."""
    count = frame_count(ds)
    missing = [n for n in numbers if n > count]
    if missing:
        uid = ds.get("SOPInstanceUID", "?")
        what = "has no pixel data" if count == 0 else f"has {count} frame(s)"
        raise NotFoundError(
            f"instance {uid} {what}; frame(s) {', '.join(map(str, missing))} do not exist"
        )


def iter_frames(ds: Dataset, numbers: Sequence[int], *, decode: bool) -> Iterator[bytes]:
    """Yield the requested frames (1-based), as stored or decoded.

    Call :func:`check_frames` first: this generator runs while the response
    streams, when a clean 404 is no longer possible.
    """
    syntax = UID(str(ds.file_meta.TransferSyntaxUID))
    for number in numbers:
        if syntax.is_encapsulated and not decode:
            yield get_frame(ds.PixelData, number - 1, number_of_frames=frame_count(ds))
        elif syntax in _NATIVE_LE and int(ds.BitsAllocated) % 8 == 0:
            yield _native_slice(ds, number)
        else:
            yield _decoded(ds, number)


def _native_slice(ds: Dataset, number: int) -> bytes:
    size = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1))
    size *= int(ds.BitsAllocated) // 8
    start = (number - 1) * size
    data: bytes = ds.PixelData[start : start + size]
    return data


def _decoded(ds: Dataset, number: int) -> bytes:
    try:
        array = pixel_array(ds, index=number - 1)
    except Exception as exc:  # decoders raise many exception types
        raise RenderError(
            f"frame {number} of instance {ds.get('SOPInstanceUID', '?')} cannot be "
            f"decoded ({exc}); ask for the stored transfer syntax instead"
        ) from exc
    if int(ds.BitsAllocated) == 1:
        packed: bytes = pack_bits(array)
        return packed
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return np.ascontiguousarray(little).tobytes()
