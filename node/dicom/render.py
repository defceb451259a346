"""Rendered images: one frame, or one MPR reslice, windowed and encoded as PNG or JPEG."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from io import BytesIO

import numpy as np
from PIL import Image
from pydicom import Dataset
from pydicom.pixels.processing import apply_color_lut

from node.dicom.pixels import decode_frame, modality_values
from node.dicom.volume import Plane, Volume, reslice
from node.dicom.windowing import PRESETS, Window, WindowPreset, file_window, to_display
from node.errors import QueryError, RenderError

__all__ = ["ImageFormat", "RenderOptions", "render_array", "render_frame", "render_reslice"]

# zlib level 1: PNGs a little larger, encoded several times faster; the node
# serves them over a hospital LAN where CPU, not bandwidth, is the bottleneck.
_PNG_COMPRESS_LEVEL = 1


class ImageFormat(enum.StrEnum):
    """Media types the rendered endpoints produce."""

    PNG = "image/png"
    JPEG = "image/jpeg"


@dataclass(frozen=True)
class RenderOptions:
    """How to render: explicit window, preset, or the file's own; format and size."""

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
        if not 1 <= self.quality <= 100:
            raise QueryError(f"quality must be 1..100, got {self.quality}", parameter="quality")
        if self.max_size is not None and self.max_size < 1:
            raise QueryError("viewport must be at least 1 pixel", parameter="viewport")
        if self.window_center is not None and self.window_width is not None:
            Window(self.window_center, self.window_width, self.window_function)

    def window(self, default: Window | None) -> Window | None:
        """The window to apply: explicit, then preset, then ``default``."""
        if self.window_center is not None and self.window_width is not None:
            return Window(self.window_center, self.window_width, self.window_function)
        if self.preset is not None:
            return PRESETS[self.preset]
        return default


def render_frame(ds: Dataset, frame: int = 1, options: RenderOptions | None = None) -> bytes:
    """Render one frame (1-based) of an instance."""
    options = options or RenderOptions()
    stored = decode_frame(ds, frame)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR":
        try:
            rgb = apply_color_lut(stored, ds)
        except Exception as exc:
            raise RenderError(f"the palette colour lookup table cannot be applied: {exc}") from exc
        return _encode(_to_uint8_rgb(rgb), options)
    if stored.ndim == 3:
        return _encode(_to_uint8_rgb(stored), options)
    if stored.dtype.kind in "iu" and "ModalityLUTSequence" not in ds:
        return _encode(_lookup_render(ds, stored, options, photometric), options)
    values = modality_values(ds, stored)
    return render_array(
        values,
        options,
        default_window=file_window(ds),
        monochrome1=photometric == "MONOCHROME1",
    )


def render_array(
    values: np.ndarray,
    options: RenderOptions,
    *,
    default_window: Window | None = None,
    monochrome1: bool = False,
) -> bytes:
    """Window and encode a 2D array of modality values."""
    if values.ndim != 2:
        raise RenderError(f"expected one 2D image, got an array of shape {values.shape}")
    return _encode(to_display(values, options.window(default_window), invert=monochrome1), options)


def render_reslice(volume: Volume, plane: Plane, index: int, options: RenderOptions) -> bytes:
    """Render one reslice of a volume with square pixels, head up for coronal and sagittal."""
    values, (row_mm, col_mm) = reslice(volume, plane, index)
    if plane is not Plane.AXIAL:
        values = values[::-1]  # the slice axis ascends toward the head: put the head up
    if not np.isclose(row_mm, col_mm, rtol=1e-3):
        values = _resample_rows(values, row_mm / col_mm)
    window = Window(*volume.window) if volume.window is not None else None
    return render_array(values, options, default_window=window)


def _lookup_render(
    ds: Dataset, stored: np.ndarray, options: RenderOptions, photometric: str
) -> np.ndarray:
    """Rescale and window integer pixels through one lookup table over their range.

    The same result as transforming every pixel, at the cost of one table of
    (max - min + 1) entries: several times faster for 512x512 CT.
    """
    low, high = int(stored.min()), int(stored.max())
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    values = np.arange(low, high + 1, dtype=np.float32) * slope + intercept
    table = to_display(
        values,
        options.window(file_window(ds)),
        invert=photometric == "MONOCHROME1",
    )
    indices = stored.astype(np.int64, copy=False) - low if low else stored
    looked_up: np.ndarray = table[indices]
    return looked_up


def _resample_rows(values: np.ndarray, factor: float) -> np.ndarray:
    """Linear interpolation along rows so that row and column spacing match."""
    rows = max(1, round(values.shape[0] * factor))
    positions = np.linspace(0, values.shape[0] - 1, rows, dtype=np.float32)
    below = np.floor(positions).astype(np.intp)
    above = np.minimum(below + 1, values.shape[0] - 1)
    weight = (positions - below)[:, None]
    resampled: np.ndarray = values[below] * (1 - weight) + values[above] * weight
    return resampled


def _to_uint8_rgb(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype == np.uint8:
        return rgb
    top = float(rgb.max()) or 1.0
    scaled: np.ndarray = np.clip(rgb.astype(np.float32) * (255.0 / top), 0, 255)
    return scaled.astype(np.uint8)


def _encode(pixels: np.ndarray, options: RenderOptions) -> bytes:
    image = Image.fromarray(np.ascontiguousarray(pixels))
    if options.max_size is not None and max(image.size) > options.max_size:
        image.thumbnail((options.max_size, options.max_size), Image.Resampling.BILINEAR)
    buffer = BytesIO()
    if options.image_format is ImageFormat.JPEG:
        image.save(buffer, format="JPEG", quality=options.quality)
    else:
        image.save(buffer, format="PNG", compress_level=_PNG_COMPRESS_LEVEL)
    return buffer.getvalue()
