"""Value-of-interest (VOI) transform: modality values to 8-bit display values.

Implements PS3.3 C.11.2.1.2: the window functions LINEAR (C.11.2.1.2.1),
LINEAR_EXACT (C.11.2.1.3.2) and SIGMOID (C.11.2.1.3.1), and the VOI LUT
Sequence (C.11.2.1.1). The rendering order of precedence is: a window given
by the request, a named preset, the file's own Window Center/Width, the
file's VOI LUT Sequence, and last the frame's minimum..maximum. The file's own
window is applied by default so images are not washed out (Orthanc's
``/rendered`` ignores it).

Display values are rounded half up to 0..255. Every step is vectorised
float32 numpy: no per-pixel Python.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from pydicom import Dataset
from pydicom.multival import MultiValue

from node.dicom.pixels import frame_item
from node.errors import QueryError

__all__ = [
    "PRESETS",
    "VoiLut",
    "Window",
    "WindowPreset",
    "file_voi",
    "file_voi_lut",
    "file_window",
    "to_display",
]

_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


class WindowPreset(enum.StrEnum):
    """Named CT windows, in Hounsfield units (see :data:`PRESETS`)."""

    LUNG = "lung"
    MEDIASTINUM = "mediastinum"
    BONE = "bone"
    BRAIN = "brain"
    ABDOMEN = "abdomen"


@dataclass(frozen=True)
class Window:
    """A window: centre, width and the VOI LUT Function that applies them.

    Parameters
    ----------
    center, width
        Window Center and Window Width in modality units.
    function
        ``LINEAR`` (width >= 1), ``LINEAR_EXACT`` or ``SIGMOID`` (width > 0).

    Raises
    ------
    QueryError
        An unknown function or a width out of range (``parameter="window"``).
    """

    center: float
    width: float
    function: str = "LINEAR"

    def __post_init__(self) -> None:
        function = self.function.upper().replace("-", "_")
        if function not in _FUNCTIONS:
            raise QueryError(
                f"window function {self.function!r} is unknown; use linear, linear_exact "
                "or sigmoid",
                parameter="window",
            )
        object.__setattr__(self, "function", function)
        minimum_ok = self.width >= 1 if function == "LINEAR" else self.width > 0
        if not (minimum_ok and np.isfinite(self.center) and np.isfinite(self.width)):
            raise QueryError(
                f"window width must be {'>= 1' if function == 'LINEAR' else 'positive'} for "
                f"{function} and both values finite, got center={self.center} "
                f"width={self.width}",
                parameter="window",
            )


# Widely used radiology defaults (width/level), e.g. Radiopaedia "Windowing (CT)":
# lung 1500/-600, mediastinum 350/50, bone 2000/500, brain 80/40, abdomen (soft tissue) 400/50.
PRESETS: dict[WindowPreset, Window] = {
    WindowPreset.LUNG: Window(-600, 1500),
    WindowPreset.MEDIASTINUM: Window(50, 350),
    WindowPreset.BONE: Window(500, 2000),
    WindowPreset.BRAIN: Window(40, 80),
    WindowPreset.ABDOMEN: Window(50, 400),
}


@dataclass(frozen=True, eq=False)
class VoiLut:
    """A VOI LUT Sequence item, already scaled to 8-bit display values.

    Parameters
    ----------
    first_mapped
        The modality value mapped by the first entry (LUT Descriptor, 2nd value).
    display
        uint8 display value per entry; inputs below ``first_mapped`` take the
        first entry, inputs past the end the last.
    """

    first_mapped: int
    display: np.ndarray

    @classmethod
    def from_item(cls, item: Dataset, *, little_endian: bool = True) -> VoiLut:
        """Read one VOI LUT Sequence item (PS3.3 C.11.2.1.1).

        Raises
        ------
        ValueError
            The descriptor or data are malformed.
        """
        entries, first, bits = (int(v) for v in item.LUTDescriptor)
        data = item.LUTData
        if isinstance(data, bytes | bytearray):
            table = np.frombuffer(data, dtype="<u2" if little_endian else ">u2")
        else:
            table = np.asarray(data if isinstance(data, MultiValue | list) else [data])
        table = table[: entries or 65536].astype(np.float32)
        if table.size == 0 or not 1 <= bits <= 16:
            raise ValueError(f"LUT Descriptor {entries}/{first}/{bits} or LUT Data unusable")
        # The output range is 2**bits - 1; some writers put wider data under a narrower claim.
        top = max(float(2**bits - 1), float(table.max()))
        display = np.floor(table * (255.0 / top) + 0.5).astype(np.uint8)
        return cls(first_mapped=first, display=display)


def _first(value: object) -> float:
    if isinstance(value, MultiValue | list | tuple):
        value = value[0]
    return float(value)  # type: ignore[arg-type]


def file_window(ds: Dataset, frame: int = 1) -> Window | None:
    """The first window the file recommends, if any and valid.

    Enhanced multi-frame instances are read from the Frame VOI LUT functional
    group of ``frame`` (1-based). An unknown VOI LUT Function is read as LINEAR.
    """
    source = frame_item(ds, frame, "FrameVOILUTSequence") or ds
    if "WindowCenter" not in source or "WindowWidth" not in source:
        return None
    function = str(source.get("VOILUTFunction", "") or "LINEAR").upper()
    try:
        center, width = _first(source.WindowCenter), _first(source.WindowWidth)
        return Window(center, width, function if function in _FUNCTIONS else "LINEAR")
    except (QueryError, TypeError, ValueError, IndexError):
        return None  # a malformed file window: fall back to the next source


def file_voi_lut(ds: Dataset, frame: int = 1) -> VoiLut | None:
    """The first item of the file's VOI LUT Sequence, if any and readable."""
    source = frame_item(ds, frame, "FrameVOILUTSequence") or ds
    sequence = source.get("VOILUTSequence") or ds.get("VOILUTSequence")
    if not sequence:
        return None
    file_meta = getattr(ds, "file_meta", None)
    syntax = file_meta.get("TransferSyntaxUID") if file_meta is not None else None
    little = ds.original_encoding[1] if syntax is None else syntax != "1.2.840.10008.1.2.2"
    try:
        return VoiLut.from_item(sequence[0], little_endian=little is not False)
    except (AttributeError, TypeError, ValueError):
        return None  # a malformed LUT: fall back to the data range


def file_voi(ds: Dataset, frame: int = 1) -> Window | VoiLut | None:
    """The file's own VOI: its window, else its VOI LUT, else ``None`` (data range)."""
    return file_window(ds, frame) or file_voi_lut(ds, frame)


def _data_range(x: np.ndarray) -> tuple[float, float, np.ndarray]:
    low, high = float(x.min()), float(x.max())
    if np.isfinite(low) and np.isfinite(high):
        return low, high, x
    finite = np.isfinite(x)
    if not finite.any():
        return 0.0, 0.0, np.zeros_like(x)
    low, high = float(x[finite].min()), float(x[finite].max())
    return low, high, np.nan_to_num(x, nan=low, posinf=high, neginf=low)


def _linear_map(x: np.ndarray, scale: float, offset: float) -> np.ndarray:
    """``clip(x * scale + offset + 0.5, 0, 255)`` truncated: rounds half up to uint8."""
    y = x * np.float32(scale)
    y += np.float32(offset + 0.5)
    np.clip(y, 0.0, 255.0, out=y)
    return y.astype(np.uint8)


def to_display(
    values: np.ndarray, voi: Window | VoiLut | None, *, invert: bool = False
) -> np.ndarray:
    """Map modality values to uint8 display values.

    Parameters
    ----------
    values
        Modality values (rescale already applied), any shape.
    voi
        A :class:`Window`, a :class:`VoiLut`, or ``None`` to stretch the
        data's minimum..maximum over 0..255.
    invert
        Invert the output (MONOCHROME1: low values are white).

    Returns
    -------
    numpy.ndarray
        uint8 of the same shape.

    Notes
    -----
    LINEAR (PS3.3 C.11.2.1.2.1): ``x <= c - 0.5 - (w-1)/2`` gives 0,
    ``x > c - 0.5 + (w-1)/2`` gives 255, and between them
    ``((x - (c - 0.5)) / (w - 1) + 0.5) * 255``. LINEAR_EXACT:
    ``((x - c) / w + 0.5) * 255``. SIGMOID: ``255 / (1 + exp(-4 (x - c) / w))``.
    """
    x = values if values.dtype == np.float32 else values.astype(np.float32)
    out: np.ndarray
    if isinstance(voi, VoiLut):
        index = np.rint(x) - np.float32(voi.first_mapped)
        np.clip(index, 0, voi.display.size - 1, out=index)
        out = voi.display[index.astype(np.intp)]
    elif voi is None:
        low, high, x = _data_range(x)
        if high > low:
            out = _linear_map(x, 255.0 / (high - low), -low * 255.0 / (high - low))
        else:
            out = np.zeros(x.shape, dtype=np.uint8)
    elif voi.function == "SIGMOID":
        with np.errstate(over="ignore"):  # exp overflows to inf far below the centre: 0
            y = np.exp((x - np.float32(voi.center)) * np.float32(-4.0 / voi.width))
        y += 1.0
        np.divide(255.0, y, out=y)
        out = _linear_map(y, 1.0, 0.0)
    elif voi.function == "LINEAR_EXACT":
        scale = 255.0 / voi.width
        out = _linear_map(x, scale, (0.5 - voi.center / voi.width) * 255.0)
    elif voi.width == 1:  # LINEAR with width 1 is a threshold at c - 0.5
        out = np.where(x > np.float32(voi.center - 0.5), np.uint8(255), np.uint8(0))
    else:
        scale = 255.0 / (voi.width - 1)
        out = _linear_map(x, scale, (0.5 - (voi.center - 0.5) / (voi.width - 1)) * 255.0)
    if invert:
        np.subtract(255, out, out=out)
    return out
