"""Decoding pixel data (native and compressed) to numpy, and the modality transform.

pydicom's decoders do the work, backed by pylibjpeg (JPEG, JPEG 2000, RLE),
pyjpegls (JPEG-LS), Pillow and GDCM. Every failure is one of the node's typed
errors, naming the transfer syntax.
"""

from __future__ import annotations

import numpy as np
from pydicom import Dataset
from pydicom.pixels.processing import apply_modality_lut
from pydicom.pixels.utils import pixel_array

from node.errors import NotFoundError, RenderError, UnsupportedTransferSyntaxError

__all__ = ["decode_frame", "frame_count", "modality_values"]


def frame_count(ds: Dataset) -> int:
    """Number of frames of an image instance (1 when NumberOfFrames is absent)."""
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def decode_frame(ds: Dataset, frame: int = 1) -> np.ndarray:
    """Stored values of one frame (1-based): ``(rows, cols)`` or ``(rows, cols, 3)`` RGB."""
    if "PixelData" not in ds and "FloatPixelData" not in ds:
        raise RenderError("the instance has no pixel data to render")
    total = frame_count(ds)
    if not 1 <= frame <= total:
        raise NotFoundError(f"frame {frame} does not exist; the instance has {total} frame(s)")
    syntax = ds.file_meta.get("TransferSyntaxUID", "unknown")
    try:
        return np.asarray(pixel_array(ds, index=frame - 1 if total > 1 else None))
    except NotImplementedError as exc:
        raise UnsupportedTransferSyntaxError(
            f"no decoder for transfer syntax {syntax} ({getattr(syntax, 'name', '')}): {exc}"
        ) from exc
    except Exception as exc:  # decoders raise many types on damaged or exotic data
        raise RenderError(
            f"pixel data in transfer syntax {syntax} could not be decoded: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def modality_values(ds: Dataset, frame: np.ndarray) -> np.ndarray:
    """Apply the Modality LUT or Rescale Slope/Intercept (PS3.3 C.11.1) as float32."""
    if frame.ndim == 3:
        return frame
    try:
        return np.asarray(apply_modality_lut(frame, ds), dtype=np.float32)
    except Exception as exc:
        raise RenderError(f"the Modality LUT or rescale cannot be applied: {exc}") from exc
