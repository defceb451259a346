"""Rendered images: one frame, or one MPR reslice, windowed and encoded as PNG or JPEG.

The pipeline for a grayscale frame is decode → modality transform (rescale or
Modality LUT) → VOI (request window, preset, the file's window, the file's VOI
LUT, else min..max) → MONOCHROME1 inversion → 8-bit PNG or JPEG. Colour frames
(RGB, YBR_* converted to RGB, PALETTE COLOR through its lookup tables) are
rendered as colour, scaled to 8 bits from Bits Stored.

PNGs are written by :func:`node.dicom.png.encode_png` (Sub filter, zlib level
1, :data:`PNG_COMPRESS_LEVEL`): a 512² CT frame encodes about twice as fast as
Pillow at ``compress_level=1`` and several times faster than Pillow's default
level 6, for a file within a few percent of the size; the node serves viewers
on the hospital LAN, where CPU time, not bandwidth, sets the latency. JPEGs
are written by Pillow (libjpeg-turbo) at the requested quality.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from io import BytesIO

import numpy as np
from PIL import Image
from pydicom import Dataset
from pydicom.pixels.processing import apply_color_lut

from node.dicom.pixels import decode_frame, modality_values
from node.dicom.png import encode_png
from node.dicom.volume import Plane, Volume, reslice
from node.dicom.windowing import PRESETS, VoiLut, Window, WindowPreset, file_voi, to_display
from node.errors import QueryError, RenderError

__all__ = [
    "PNG_COMPRESS_LEVEL",
    "ImageFormat",
    "RenderOptions",
    "render_array",
    "render_frame",
    "render_reslice",
    "square_pixels",
]

PNG_COMPRESS_LEVEL = 1
"""zlib level for rendered PNGs: fast over small (see the module docstring)."""


class ImageFormat(enum.StrEnum):
    """Media types the rendered endpoints produce."""

    PNG = "image/png"
    JPEG = "image/jpeg"


@dataclass(frozen=True)
class RenderOptions:
    """How to render: explicit window, preset, or the file's own; format and size.

    Parameters
    ----------
    window_center, window_width
        An explicit window (both or neither); wins over ``preset``.
    preset
        A named CT window, used when no explicit window is given.
    image_format
        PNG (lossless) or JPEG.
    quality
        JPEG quality 1..100 (ignored for PNG).
    max_size
        Scale the image down (never up, never cropped) so that neither side
        exceeds this many pixels.
    window_function
        VOI LUT Function of the explicit window: LINEAR, LINEAR_EXACT or SIGMOID.

    Raises
    ------
    QueryError
        Any value out of range, naming the request parameter.
    """

    window_center: float | None = None
    window_width: float | None = None
    preset: WindowPreset | None = None
    image_format: ImageFormat = ImageFormat.PNG
    quality: int = 90
    max_size: int | None = None
    window_function: str = "LINEAR"

    def __post_init__(self) -> None:
        if (self.window_center is None) != (self.window_width is None):
            raise QueryError(
                "give both window centre and width, e.g. window=40,400", parameter="window"
            )
        if self.preset is not None and not isinstance(self.preset, WindowPreset):
            try:
                object.__setattr__(self, "preset", WindowPreset(str(self.preset).lower()))
            except ValueError:
                names = ", ".join(p.value for p in WindowPreset)
                raise QueryError(
                    f"preset {self.preset!r} is unknown; use one of {names}", parameter="preset"
                ) from None
        if not isinstance(self.image_format, ImageFormat):
            try:
                object.__setattr__(self, "image_format", ImageFormat(str(self.image_format)))
            except ValueError:
                raise QueryError(
                    f"image format {self.image_format!r} is unsupported; use image/png or "
                    "image/jpeg",
                    parameter="accept",
                ) from None
        if not 1 <= self.quality <= 100:
            raise QueryError(f"quality must be 1..100, got {self.quality}", parameter="quality")
        if self.max_size is not None and self.max_size < 1:
            raise QueryError(
                f"viewport must be at least 1 pixel, got {self.max_size}", parameter="viewport"
            )
        if self.window_center is not None and self.window_width is not None:
            Window(self.window_center, self.window_width, self.window_function)

    def window(self, default: Window | VoiLut | None) -> Window | VoiLut | None:
        """The VOI to apply: explicit window, then preset, then ``default``."""
        if self.window_center is not None and self.window_width is not None:
            return Window(self.window_center, self.window_width, self.window_function)
        if self.preset is not None:
            return PRESETS[self.preset]
        return default


def render_frame(ds: Dataset, frame: int = 1, options: RenderOptions | None = None) -> bytes:
    """Render one frame of an instance as an 8-bit PNG or JPEG.

    Parameters
    ----------
    ds
        An image instance.
    frame
        1-based frame number.
    options
        Window, format, quality and size; the defaults render a PNG with the
        file's own window.

    Returns
    -------
    bytes
        The encoded image, ``Columns`` x ``Rows`` unless ``max_size`` shrinks it.

    Raises
    ------
    NotFoundError
        No such frame.
    UnsupportedTransferSyntaxError
        The node cannot decode the transfer syntax.
    RenderError
        No pixel data, undecodable data, or unusable lookup tables.
    """
    options = options or RenderOptions()
    stored = decode_frame(ds, frame)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR" and stored.ndim == 2:
        return _encode(_palette_rgb(ds, stored), options)
    if stored.ndim == 3:
        return _encode(_colour_to_uint8(stored, ds.get("BitsStored")), options)
    return render_array(
        modality_values(ds, stored, frame=frame),
        options,
        default_window=file_voi(ds, frame),
        monochrome1=photometric == "MONOCHROME1",
    )


def render_array(
    values: np.ndarray,
    options: RenderOptions,
    *,
    default_window: Window | VoiLut | tuple[float, float] | None = None,
    monochrome1: bool = False,
) -> bytes:
    """Window and encode a 2D array of modality values (a frame or an MPR plane).

    Parameters
    ----------
    values
        2D modality values.
    options
        The request's window, preset, format, quality and size.
    default_window
        The VOI used when ``options`` names none: a :class:`Window`, a
        :class:`VoiLut` or ``(center, width)``; ``None`` stretches min..max.
    monochrome1
        Invert (low values white).

    Raises
    ------
    RenderError
        ``values`` is not 2D.
    """
    if values.ndim != 2 or values.size == 0:
        raise RenderError(f"expected one non-empty 2D image, got an array of shape {values.shape}")
    if isinstance(default_window, tuple):
        default_window = Window(*default_window)
    voi = options.window(default_window)
    return _encode(to_display(values, voi, invert=monochrome1), options)


def render_reslice(
    volume: Volume, plane: Plane, index: int, options: RenderOptions | None = None
) -> bytes:
    """Render one MPR reslice with square pixels, head up for coronal and sagittal.

    Parameters
    ----------
    volume
        An assembled volume.
    plane
        Axial, coronal or sagittal.
    index
        0-based position along the plane's normal axis of the volume.
    options
        Window, format, quality and size; the default window is the series'.

    Raises
    ------
    NotFoundError
        ``index`` is out of range.
    """
    options = options or RenderOptions()
    values, (row_mm, col_mm) = reslice(volume, plane, index)
    return render_array(
        square_pixels(values, row_mm, col_mm), options, default_window=volume.window
    )


def square_pixels(values: np.ndarray, row_mm: float, col_mm: float) -> np.ndarray:
    """Resample a 2D image linearly so that rows and columns have the same spacing.

    The coarser axis is stretched to the finer one's spacing (a 5 mm slice
    stack shown with 0.7 mm pixels becomes about seven rows per slice), so a
    thick-slice coronal or sagittal plane keeps its true aspect ratio.
    """
    if row_mm <= 0 or col_mm <= 0:
        raise RenderError(f"pixel spacing must be positive, got {row_mm} x {col_mm} mm")
    if abs(row_mm - col_mm) <= 1e-3 * min(row_mm, col_mm):
        return values
    if row_mm > col_mm:
        return _stretch_rows(values, row_mm / col_mm)
    return _stretch_rows(values.T, col_mm / row_mm).T


def _stretch_rows(values: np.ndarray, factor: float) -> np.ndarray:
    count = values.shape[0]
    rows = max(1, round(count * factor))
    # Pixel centres of the output, in input row coordinates.
    positions = (np.arange(rows, dtype=np.float32) + 0.5) / np.float32(factor) - 0.5
    np.clip(positions, 0, count - 1, out=positions)
    below = positions.astype(np.intp)
    above = np.minimum(below + 1, count - 1)
    weight = (positions - below)[:, None]
    low = values[below].astype(np.float32, copy=False)
    stretched: np.ndarray = low + (values[above] - low) * weight
    return stretched


def _palette_rgb(ds: Dataset, indices: np.ndarray) -> np.ndarray:
    try:
        rgb = np.asarray(apply_color_lut(indices, ds))
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    except Exception as exc:  # malformed descriptors and data raise various types
        raise RenderError(
            f"the palette colour lookup tables cannot be applied ({type(exc).__name__}: "
            f"{exc}); fix the instance's Palette Color Lookup Table module"
        ) from exc
    return _colour_to_uint8(rgb, bits)


def _colour_to_uint8(rgb: np.ndarray, bits: object) -> np.ndarray:
    """Scale colour samples of ``bits`` significant bits to 8 bits."""
    if rgb.dtype == np.uint8:
        return rgb
    if rgb.dtype.kind == "f":
        top = float(np.nanmax(rgb)) or 1.0
        return np.clip(rgb * (255.0 / top), 0, 255).astype(np.uint8)
    significant = int(bits) if isinstance(bits, int | float | str) else 8 * rgb.itemsize
    shift = max(0, min(significant, 8 * rgb.dtype.itemsize) - 8)
    scaled: np.ndarray = (np.clip(rgb, 0, None) >> shift).astype(np.uint8)
    return scaled


def _encode(pixels: np.ndarray, options: RenderOptions) -> bytes:
    """Shrink to ``max_size`` if asked, then encode as the requested format."""
    too_big = options.max_size is not None and max(pixels.shape[:2]) > options.max_size
    if options.image_format is ImageFormat.PNG and not too_big:
        return encode_png(pixels, level=PNG_COMPRESS_LEVEL)
    image = Image.fromarray(np.ascontiguousarray(pixels))
    if too_big and options.max_size is not None:
        image.thumbnail((options.max_size, options.max_size), Image.Resampling.BILINEAR)
    if options.image_format is ImageFormat.PNG:
        return encode_png(np.asarray(image), level=PNG_COMPRESS_LEVEL)
    buffer = BytesIO()
    image.save(buffer, format="JPEG", quality=options.quality)
    return buffer.getvalue()
