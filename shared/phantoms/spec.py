"""What phantom to build: :class:`PhantomSpec`, validated when constructed."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from shared.errors import PhantomSpecError
from shared.phantoms.geometry import VolumeGeometry
from shared.phantoms.lesions import Lesion, default_lesions
from shared.phantoms.styles import SITE_STYLES, SiteStyle

__all__ = ["MAX_MATRIX", "MAX_SLICES", "MIN_MATRIX", "Modality", "PhantomSpec"]

MIN_MATRIX = 64
"""Smallest number of rows or columns a phantom may have."""
MAX_MATRIX = 1024
"""Largest number of rows or columns a phantom may have."""
MAX_SLICES = 2000
"""Largest number of slices in one phantom series."""


class Modality(StrEnum):
    """The modalities a phantom can imitate."""

    CT = "CT"
    MR = "MR"


@dataclass(frozen=True, init=False)
class PhantomSpec:
    """A request for one synthetic series, checked as it is built.

    Parameters
    ----------
    modality
        ``"CT"`` or ``"MR"`` (or a :class:`Modality`).
    rows, columns
        Matrix size, each 64..1024.
    slices
        Number of slices, 1..2000.
    seed
        Drives the noise, the UIDs and the canary values, together with
        ``site``. The same spec always gives the same bytes.
    style
        How the site's scanner renders the phantom.
    lesions
        The known lesions; ``None`` places :func:`default_lesions`. Every
        centre must lie inside the volume and every radius must reach at
        least one voxel spacing along its axis.
    site
        Name of the simulated site; defaults to ``style.name``.
    series_number
        SeriesNumber, 1..9999. Specs with the same seed and site share the
        patient and the study; give each series its own number.
    pixel_spacing_mm, slice_thickness_mm
        Override the style's values.
    slice_spacing_mm
        Distance between slice centres; defaults to the slice thickness.

    Raises
    ------
    PhantomSpecError
        When any value cannot be honoured; the message says what to change.

    Notes
    -----
    The attributes hold resolved values (``site``, spacings and ``lesions``
    are never ``None``), so ``dataclasses.replace(spec, style=other)`` keeps
    the old site, spacings and lesions; pass them too to change them.
    """

    modality: Modality
    rows: int
    columns: int
    slices: int
    seed: int
    style: SiteStyle
    lesions: tuple[Lesion, ...]
    site: str
    series_number: int
    pixel_spacing_mm: float
    slice_thickness_mm: float
    slice_spacing_mm: float

    def __init__(
        self,
        modality: Modality | str = Modality.CT,
        rows: int = 256,
        columns: int = 256,
        slices: int = 64,
        seed: int = 0,
        style: SiteStyle = SITE_STYLES["reference"],
        lesions: Iterable[Lesion] | None = None,
        *,
        site: str | None = None,
        series_number: int = 1,
        pixel_spacing_mm: float | None = None,
        slice_thickness_mm: float | None = None,
        slice_spacing_mm: float | None = None,
    ) -> None:
        try:
            resolved_modality = Modality(modality)
        except ValueError:
            raise PhantomSpecError(
                f"unknown modality {modality!r}; phantoms come as 'CT' or 'MR'"
            ) from None
        _require_int("rows", rows, MIN_MATRIX, MAX_MATRIX)
        _require_int("columns", columns, MIN_MATRIX, MAX_MATRIX)
        _require_int("slices", slices, 1, MAX_SLICES)
        _require_int("series_number", series_number, 1, 9999)
        _require_int("seed", seed, 0, 2**63 - 1)
        if not isinstance(style, SiteStyle):
            raise PhantomSpecError(
                f"style must be a SiteStyle, got {type(style).__name__}; pick one from "
                f"SITE_STYLES ({', '.join(sorted(SITE_STYLES))}) or build your own"
            )
        resolved_site = style.name if site is None else site
        if not resolved_site or len(resolved_site) > 64:
            raise PhantomSpecError(f"site {resolved_site!r} must be 1..64 characters")
        spacing = _positive("pixel_spacing_mm", pixel_spacing_mm, style.pixel_spacing_mm)
        thickness = _positive("slice_thickness_mm", slice_thickness_mm, style.slice_thickness_mm)
        step = _positive("slice_spacing_mm", slice_spacing_mm, thickness)

        values = {
            "modality": resolved_modality,
            "rows": rows,
            "columns": columns,
            "slices": slices,
            "seed": seed,
            "style": style,
            "site": resolved_site,
            "series_number": series_number,
            "pixel_spacing_mm": spacing,
            "slice_thickness_mm": thickness,
            "slice_spacing_mm": step,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)
        geometry = self.geometry
        resolved = default_lesions(geometry) if lesions is None else tuple(lesions)
        _check_lesions(resolved, geometry)
        object.__setattr__(self, "lesions", resolved)

    @property
    def geometry(self) -> VolumeGeometry:
        """The voxel grid this spec describes."""
        return VolumeGeometry(
            rows=self.rows,
            columns=self.columns,
            slices=self.slices,
            pixel_spacing_mm=self.pixel_spacing_mm,
            slice_spacing_mm=self.slice_spacing_mm,
        )


def _require_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PhantomSpecError(f"{name} must be an int in {low}..{high}, got {value!r}")
    if not low <= value <= high:
        raise PhantomSpecError(f"{name}={value} is outside {low}..{high}; choose a value in range")


def _positive(name: str, value: float | None, default: float) -> float:
    if value is None:
        return float(default)
    if not math.isfinite(value) or value <= 0.0:
        raise PhantomSpecError(f"{name} must be a finite number of mm > 0, got {value!r}")
    return float(value)


def _check_lesions(lesions: tuple[Lesion, ...], geometry: VolumeGeometry) -> None:
    seen: set[int] = set()
    spacing = (geometry.pixel_spacing_mm, geometry.pixel_spacing_mm, geometry.slice_spacing_mm)
    for lesion in lesions:
        if not isinstance(lesion, Lesion):
            raise PhantomSpecError(
                f"lesions must be Lesion objects, got {type(lesion).__name__}; "
                "build them with Lesion(...) or Lesion.sphere(...)"
            )
        if lesion.label in seen:
            raise PhantomSpecError(
                f"lesion label {lesion.label} is used twice; give every lesion its own label"
            )
        seen.add(lesion.label)
        for axis, value, (low, high) in zip(
            "xyz", lesion.center_mm, geometry.bounds_mm(), strict=True
        ):
            if not low <= value <= high:
                raise PhantomSpecError(
                    f"lesion {lesion.label} centre {axis}={value:g} mm lies outside the volume "
                    f"({axis} from {low:g} to {high:g} mm); move it inside, or enlarge the "
                    "volume (more rows/columns/slices or a larger spacing)"
                )
        for axis, radius, step in zip("xyz", lesion.radii_mm, spacing, strict=True):
            if radius < step:
                raise PhantomSpecError(
                    f"lesion {lesion.label} radius along {axis} is {radius:g} mm, below the "
                    f"voxel spacing of {step:g} mm, so it might label no voxel; use a radius "
                    f">= {step:g} mm or a finer spacing"
                )
