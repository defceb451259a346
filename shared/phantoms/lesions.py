"""Known lesions: ellipsoids placed in patient coordinates, each with a label.

A :class:`Lesion` is the ground truth of a phantom: its voxels carry its label
in the mask volume and its kind's intensity in the pixels.
:func:`default_lesions` places three lesions that always fit the torso drawn
by :mod:`shared.phantoms.anatomy`: a cyst in the liver, a solid nodule in the
left lung and a solid ellipsoidal mass in the lower abdomen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from shared.errors import PhantomSpecError
from shared.phantoms.geometry import VolumeGeometry

__all__ = ["Lesion", "LesionKind", "default_lesions"]

Vector = tuple[float, float, float]


class LesionKind(StrEnum):
    """What a lesion looks like: its CT number and MR signal."""

    SOLID = "solid"
    CYST = "cyst"
    CALCIFIED = "calcified"

    @property
    def ct_number(self) -> float:
        """CT number in HU."""
        return {"solid": 110.0, "cyst": 5.0, "calcified": 450.0}[self.value]

    @property
    def mr_signal(self) -> float:
        """Signal on the T1-weighted-like MR image."""
        return {"solid": 350.0, "cyst": 150.0, "calcified": 40.0}[self.value]


@dataclass(frozen=True)
class Lesion:
    """An ellipsoidal lesion, axis-aligned in patient coordinates.

    Parameters
    ----------
    center_mm
        Centre ``(x, y, z)`` in patient coordinates (LPS, mm).
    radii_mm
        Semi-axes along x, y and z in mm.
    label
        Value of the lesion's voxels in the ground-truth mask, 1..255. Where
        lesions overlap, the later one wins.
    kind
        Appearance; a :class:`LesionKind` or its value (``"solid"``...).
    name
        Free description, e.g. ``"liver cyst"``.
    """

    center_mm: Vector
    radii_mm: Vector
    label: int
    kind: LesionKind = LesionKind.SOLID
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "center_mm", _vector(self.center_mm, "center_mm", self.label))
        object.__setattr__(self, "radii_mm", _vector(self.radii_mm, "radii_mm", self.label))
        try:
            object.__setattr__(self, "kind", LesionKind(self.kind))
        except ValueError:
            known = ", ".join(k.value for k in LesionKind)
            raise PhantomSpecError(
                f"lesion {self.label}: unknown kind {self.kind!r}; use one of {known}"
            ) from None
        if isinstance(self.label, bool) or not isinstance(self.label, int):
            raise PhantomSpecError(f"lesion label must be an int 1..255, got {self.label!r}")
        if not 1 <= self.label <= 255:
            raise PhantomSpecError(
                f"lesion label {self.label} does not fit the uint8 mask; use 1..255 "
                "(0 is background)"
            )
        if any(r <= 0.0 for r in self.radii_mm):
            raise PhantomSpecError(
                f"lesion {self.label}: radii_mm {self.radii_mm} must all be > 0 mm"
            )

    @classmethod
    def sphere(
        cls,
        center_mm: Sequence[float],
        radius_mm: float,
        label: int,
        kind: LesionKind | str = LesionKind.SOLID,
        name: str = "",
    ) -> Lesion:
        """Return a spherical lesion of ``radius_mm`` around ``center_mm``."""
        center = _vector(center_mm, "center_mm", label)
        return cls(center, (radius_mm, radius_mm, radius_mm), label, LesionKind(kind), name)

    def semi_axes_at(self, z_mm: float) -> tuple[float, float] | None:
        """Return the in-plane semi-axes of the lesion's cut at ``z_mm``, if any."""
        t = (z_mm - self.center_mm[2]) / self.radii_mm[2]
        if abs(t) > 1.0:
            return None
        shrink = math.sqrt(1.0 - t * t)
        return (self.radii_mm[0] * shrink, self.radii_mm[1] * shrink)


def _vector(values: Sequence[float], field: str, label: object) -> Vector:
    try:
        x, y, z = (float(v) for v in values)
    except (TypeError, ValueError):
        raise PhantomSpecError(
            f"lesion {label}: {field} must be three numbers (x, y, z) in mm, got {values!r}"
        ) from None
    if not all(math.isfinite(v) for v in (x, y, z)):
        raise PhantomSpecError(f"lesion {label}: {field} {values!r} must be finite")
    return (x, y, z)


def default_lesions(geometry: VolumeGeometry) -> tuple[Lesion, ...]:
    """Return the default three lesions for a grid, inside its torso.

    Radii scale with the field of view but never fall below one voxel along
    any axis, so every lesion labels at least the voxel nearest its centre.

    Parameters
    ----------
    geometry
        The series' voxel grid.

    Returns
    -------
    tuple of Lesion
        Labels 1 (liver cyst), 2 (lung nodule) and 3 (abdominal mass).
    """
    width, height = geometry.field_of_view_mm
    small = min(width, height)
    z_first = geometry.origin_mm[2]
    z_span = (geometry.slices - 1) * geometry.slice_spacing_mm

    def z_at(f: float) -> float:
        if geometry.slices == 1:
            return z_first
        return z_first + f * z_span

    def radii(rx: float, ry: float, rz: float) -> Vector:
        px, dz = geometry.pixel_spacing_mm, geometry.slice_spacing_mm
        return (max(rx, px), max(ry, px), max(rz, dz))

    # The positions below follow the layout in shared.phantoms.anatomy.
    return (
        Lesion(
            (-0.15 * width, 0.02 * height, z_at(0.35)),
            radii(0.035 * small, 0.035 * small, 0.035 * small),
            label=1,
            kind=LesionKind.CYST,
            name="liver cyst",
        ),
        Lesion(
            (0.17 * width, -0.03 * height, z_at(0.75)),
            radii(0.025 * small, 0.025 * small, 0.025 * small),
            label=2,
            kind=LesionKind.SOLID,
            name="lung nodule",
        ),
        Lesion(
            (0.12 * width, -0.10 * height, z_at(0.2)),
            radii(0.05 * small, 0.035 * small, 0.045 * small),
            label=3,
            kind=LesionKind.SOLID,
            name="abdominal mass",
        ),
    )
