"""A minimal, fast PNG encoder for 8-bit grayscale and RGB images.

Pillow's PNG writer tries all five row filters on every row (adaptive
filtering), which costs more than the compression itself for a 512² frame.
Here every row uses the *Sub* filter (PNG spec §9.2, type 1), computed with
one vectorised numpy subtraction, and zlib runs at a low level: a rendered
512² CT frame encodes in roughly half the time of Pillow at
``compress_level=1``, for a file of about the same size. zlib releases the GIL,
so concurrent renders in the API's threadpool run in parallel.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["DEFAULT_ZLIB_LEVEL", "encode_png"]

DEFAULT_ZLIB_LEVEL = 1
"""zlib level: 1 is the fastest that still compresses; higher levels gain a few percent."""

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_FILTER_SUB = 1
_COLOUR_TYPES = {1: 0, 3: 2}  # samples per pixel -> PNG colour type (grayscale, truecolour)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind)) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(pixels: np.ndarray, *, level: int = DEFAULT_ZLIB_LEVEL) -> bytes:
    """Encode a uint8 image as PNG.

    Parameters
    ----------
    pixels
        ``(rows, columns)`` grayscale or ``(rows, columns, 3)`` RGB, uint8.
    level
        zlib compression level, 0..9.

    Returns
    -------
    bytes
        A complete PNG file (IHDR, one IDAT, IEND; 8 bits per sample, no interlace).

    Raises
    ------
    ValueError
        The array is not uint8 grayscale or RGB, or is empty.
    """
    samples = 1 if pixels.ndim == 2 else (pixels.shape[2] if pixels.ndim == 3 else 0)
    if pixels.dtype != np.uint8 or samples not in _COLOUR_TYPES or pixels.size == 0:
        raise ValueError(
            f"encode_png takes non-empty uint8 grayscale or RGB images, got {pixels.dtype} "
            f"{pixels.shape}"
        )
    height, width = pixels.shape[:2]
    rows = np.ascontiguousarray(pixels).reshape(height, width * samples)
    filtered = np.empty((height, width * samples + 1), dtype=np.uint8)
    filtered[:, 0] = _FILTER_SUB
    filtered[:, 1 : 1 + samples] = rows[:, :samples]
    # Sub: each byte minus the byte one pixel to its left, modulo 256.
    np.subtract(rows[:, samples:], rows[:, :-samples], out=filtered[:, 1 + samples :])
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPES[samples], 0, 0, 0)
    return b"".join(
        (
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(filtered.tobytes(), level)),
            _chunk(b"IEND", b""),
        )
    )
