"""Decoding pixel data (native and compressed) to numpy, and the modality transform.

pydicom's decoders do the work, backed by pylibjpeg (JPEG, JPEG 2000, RLE),
pyjpegls (JPEG-LS), Pillow and GDCM. Every failure is one of the node's typed
errors naming the transfer syntax:

* no decoder for the syntax, or none of its plugins installed:
  :class:`~node.errors.UnsupportedTransferSyntaxError`;
* a decoder that fails on the data (damaged, truncated, exotic):
  :class:`~node.errors.RenderError`;
* a frame number outside ``1..NumberOfFrames``: :class:`~node.errors.NotFoundError`.

The modality transform (PS3.3 C.11.1) turns stored values into modality
values (Hounsfield units for CT) as float32: Rescale Slope/Intercept, from the
per-frame or shared functional groups of enhanced multi-frame instances, or a
Modality LUT Sequence.
"""

from __future__ import annotations

import numpy as np
from pydicom import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_modality_lut
from pydicom.pixels.utils import as_pixel_options
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from node.errors import NotFoundError, RenderError, UnsupportedTransferSyntaxError

__all__ = [
    "PIXEL_KEYWORDS",
    "decode_frame",
    "frame_count",
    "frame_item",
    "modality_values",
    "rescale_of",
    "transfer_syntax",
]

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
"""The elements that can hold an image's pixels."""

_ASK_FOR = "ask the sender for Explicit VR Little Endian, JPEG, JPEG-LS, JPEG 2000 or RLE Lossless"


def frame_count(ds: Dataset) -> int:
    """Number of frames of an image instance (1 when NumberOfFrames is absent or invalid)."""
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def transfer_syntax(ds: Dataset) -> UID:
    """The transfer syntax of the pixel data.

    Taken from the file meta information, else inferred from how the dataset
    was read when the pixel data is native (not encapsulated).

    Raises
    ------
    UnsupportedTransferSyntaxError
        Neither is known.
    """
    file_meta = getattr(ds, "file_meta", None)
    syntax = file_meta.get("TransferSyntaxUID") if file_meta is not None else None
    if syntax:
        return UID(str(syntax))
    implicit, little = ds.original_encoding
    if implicit is None or little is None:
        raise UnsupportedTransferSyntaxError(
            "the instance has no (0002,0010) Transfer Syntax UID and its encoding is unknown; "
            "store it as a DICOM Part 10 file with a file meta header"
        )
    if implicit:
        return ImplicitVRLittleEndian
    return ExplicitVRLittleEndian if little else ExplicitVRBigEndian


def _describe(syntax: UID) -> str:
    name = syntax.name if syntax.name != syntax else ""
    return f"{syntax} ({name})" if name else str(syntax)


def decode_frame(ds: Dataset, frame: int = 1) -> np.ndarray:
    """Stored values of one frame.

    Parameters
    ----------
    ds
        An image instance.
    frame
        1-based frame number, as in DICOMweb ``/frames/{n}``.

    Returns
    -------
    numpy.ndarray
        ``(rows, columns)`` stored values, or ``(rows, columns, 3)`` for colour
        data (YBR_FULL and YBR_FULL_422 converted to RGB; PALETTE COLOR is
        returned as indices, see :func:`node.dicom.render.render_frame`).

    Raises
    ------
    NotFoundError
        ``frame`` is outside ``1..NumberOfFrames``.
    UnsupportedTransferSyntaxError
        The node has no decoder for the transfer syntax.
    RenderError
        No pixel data, or the decoder failed on it.
    """
    if not any(keyword in ds for keyword in PIXEL_KEYWORDS):
        raise RenderError(
            f"instance {ds.get('SOPInstanceUID', '?')} has no pixel data to render; "
            "only image instances can be rendered"
        )
    total = frame_count(ds)
    if not 1 <= frame <= total:
        raise NotFoundError(
            f"frame {frame} of instance {ds.get('SOPInstanceUID', '?')} does not exist; "
            f"frames are numbered 1..{total}"
        )
    syntax = transfer_syntax(ds)
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise UnsupportedTransferSyntaxError(
            f"the node cannot decode transfer syntax {_describe(syntax)}; {_ASK_FOR}"
        ) from None
    if not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies) or "a decoding plugin"
        raise UnsupportedTransferSyntaxError(
            f"no decoder for transfer syntax {_describe(syntax)} is installed on this node "
            f"(needs {missing}); install it, or {_ASK_FOR}"
        )
    try:
        array, _ = decoder.as_array(ds, index=frame - 1, **as_pixel_options(ds))
    except Exception as exc:  # the plugins raise many types on damaged or exotic data
        raise RenderError(
            f"frame {frame} in transfer syntax {_describe(syntax)} could not be decoded "
            f"({type(exc).__name__}: {_summary(exc)}); the pixel data may be damaged: "
            "retrieve the instance as stored to inspect it, or ask the sender to re-send it"
        ) from exc
    return _checked_shape(np.asarray(array), syntax)


def _summary(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:500] if text else "no detail"


def _checked_shape(array: np.ndarray, syntax: UID) -> np.ndarray:
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3):
        return array
    raise RenderError(
        f"decoded pixel data of shape {array.shape} (transfer syntax {_describe(syntax)}) is "
        "neither grayscale nor three-sample colour; the node renders only those"
    )


def frame_item(ds: Dataset, frame: int, sequence: str) -> Dataset | None:
    """The first item of a functional group macro for one frame (1-based).

    Looks in the Per-Frame Functional Groups of enhanced multi-frame
    instances first, then in the Shared ones; ``None`` when neither has it.
    """
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None and 1 <= frame <= len(per_frame):
        item = per_frame[frame - 1].get(sequence)
        if item:
            return item[0]  # type: ignore[no-any-return]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        item = shared[0].get(sequence)
        if item:
            return item[0]  # type: ignore[no-any-return]
    return None


def rescale_of(ds: Dataset, frame: int = 1) -> tuple[float, float]:
    """Rescale ``(slope, intercept)`` of one frame; ``(1, 0)`` when none is given.

    Raises
    ------
    RenderError
        The values are not numbers.
    """
    source = frame_item(ds, frame, "PixelValueTransformationSequence") or ds
    try:
        slope = source.get("RescaleSlope")
        intercept = source.get("RescaleIntercept")
        return (
            1.0 if slope is None or slope == "" else float(slope),
            0.0 if intercept is None or intercept == "" else float(intercept),
        )
    except (TypeError, ValueError) as exc:
        raise RenderError(
            f"Rescale Slope/Intercept are not numbers ({exc}); fix the instance's header"
        ) from exc


def modality_values(ds: Dataset, frame_array: np.ndarray, *, frame: int = 1) -> np.ndarray:
    """Modality values (PS3.3 C.11.1) of one decoded frame, as float32.

    Parameters
    ----------
    ds
        The instance the frame came from.
    frame_array
        The output of :func:`decode_frame`.
    frame
        Which frame it is (1-based), for enhanced instances' per-frame rescale.

    Returns
    -------
    numpy.ndarray
        float32 values. Colour frames are returned as float32 unchanged: the
        modality transform applies to grayscale only.

    Raises
    ------
    RenderError
        The rescale values or Modality LUT cannot be applied.
    """
    if frame_array.ndim == 3 or "ModalityLUTSequence" not in ds:
        values = frame_array.astype(np.float32)
        if frame_array.ndim == 3:
            return values
        slope, intercept = rescale_of(ds, frame)
        if slope != 1.0:
            values *= np.float32(slope)
        if intercept != 0.0:
            values += np.float32(intercept)
        return values
    try:
        return np.asarray(apply_modality_lut(frame_array, ds), dtype=np.float32)
    except Exception as exc:  # malformed LUT descriptors and data raise various types
        raise RenderError(
            f"the Modality LUT Sequence cannot be applied ({type(exc).__name__}: {exc}); "
            "fix or remove it in the instance"
        ) from exc
