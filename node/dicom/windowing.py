"""Value-of-interest windowing: modality values to 8-bit display values.

Implements the window functions of PS3.3 C.11.2.1.2 (LINEAR, LINEAR_EXACT,
SIGMOID) and the common CT presets. The file's own window is the default, so
images are not washed out (Orthanc's ``/rendered`` ignores it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from pydicom import Dataset
from pydicom.multival import MultiValue

from node.errors import QueryError

__all__ = ["PRESETS", "Window", "WindowPreset", "file_window", "to_display"]


class WindowPreset(enum.StrEnum):
    """Named CT windows, in Hounsfield units."""

    LUNG = "lung"
    MEDIASTINUM = "mediastinum"
    BONE = "bone"
    BRAIN = "brain"
    ABDOMEN = "abdomen"


@dataclass(frozen=True)
class Window:
    """A window: centre, width and the VOI LUT function that applies them."""

    center: float
    width: float
    function: str = "LINEAR"

    def __post_init__(self) -> None:
        if self.function not in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
            raise QueryError(
                f"window function {self.function!r} is unknown; use linear, linear_exact "
                "or sigmoid",
                parameter="window",
            )
        minimum = 0 if self.function == "LINEAR_EXACT" else 1
        if not self.width >= minimum or self.width == 0:
            raise QueryError(
                f"window width must be positive (>= 1 for LINEAR), got {self.width}",
                parameter="window",
            )


# Widely used radiology defaults (W/L): lung 1500/-600, mediastinum 350/50,
# bone 2000/500, brain 80/40, abdomen 400/50.
PRESETS: dict[WindowPreset, Window] = {
    WindowPreset.LUNG: Window(-600, 1500),
    WindowPreset.MEDIASTINUM: Window(50, 350),
    WindowPreset.BONE: Window(500, 2000),
    WindowPreset.BRAIN: Window(40, 80),
    WindowPreset.ABDOMEN: Window(50, 400),
}


def _first(value: object) -> float:
    if isinstance(value, MultiValue | list | tuple):
        value = value[0]
    return float(value)  # type: ignore[arg-type]


def file_window(ds: Dataset) -> Window | None:
    """The first window the file itself recommends, if any."""
    if "WindowCenter" not in ds or "WindowWidth" not in ds:
        return None
    try:
        function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()
        window = Window(_first(ds.WindowCenter), _first(ds.WindowWidth), function)
    except (QueryError, TypeError, ValueError, IndexError):
        return None  # a malformed file window: fall back to the data range
    return window


def to_display(values: np.ndarray, window: Window | None, *, invert: bool = False) -> np.ndarray:
    """Map modality values to uint8 with ``window`` (or the data range when ``None``).

    Parameters
    ----------
    values
        Modality values (rescale already applied), any shape.
    window
        The window; ``None`` stretches the data's min..max.
    invert
        Invert the output (MONOCHROME1: low values are white).
    """
    x = values.astype(np.float32, copy=False)
    if window is None:
        low, high = float(np.min(x)), float(np.max(x))
        scaled = (x - low) * (255.0 / (high - low)) if high > low else np.zeros_like(x)
    elif window.function == "SIGMOID":
        scaled = 255.0 / (1.0 + np.exp(-4.0 * (x - window.center) / window.width))
    elif window.function == "LINEAR_EXACT":
        scaled = ((x - window.center) / window.width + 0.5) * 255.0
    else:  # LINEAR, PS3.3 C.11.2.1.2.1
        scaled = ((x - (window.center - 0.5)) / (window.width - 1) + 0.5) * 255.0
    out = np.clip(scaled, 0, 255).astype(np.uint8)
    if invert:
        np.subtract(255, out, out=out)
    return out
