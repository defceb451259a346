"""What a simulated reader reads: one case's ground truth.

A :class:`CaseTruth` holds the lesion label volume of a case (slices × rows ×
columns, 0 background, each lesion its own value), the voxel spacing, which
lesions each guideline label covers, and the true category of each
classification label. :meth:`CaseTruth.from_phantom` builds one from a
:class:`~shared.phantoms.PhantomSeries`, whose slice ``k`` is task slice ``k``
(phantom slices are ordered along the normal already).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from shared.phantoms import PhantomSeries
from shared.simulation.errors import SimulationError

__all__ = ["CaseTruth"]


@dataclass(frozen=True, eq=False)
class CaseTruth:
    """The ground truth of one case.

    Parameters
    ----------
    case_id
        A stable identifier (it seeds the reader's choices on this case).
    volume
        uint8 lesion labels, shape ``(slices, rows, columns)``.
    spacing_mm
        ``(slice, row, column)`` spacing in mm.
    categories
        Classification label → its true category code on this case.
    lesions
        Guideline label → the lesion values it covers; a label not listed
        covers every lesion.
    """

    case_id: str
    volume: npt.NDArray[np.uint8]
    spacing_mm: tuple[float, float, float]
    categories: Mapping[str, str] = field(default_factory=dict)
    lesions: Mapping[str, Sequence[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        volume = np.asarray(self.volume)
        if volume.ndim != 3:
            raise SimulationError(
                f"case {self.case_id!r}: volume must be (slices, rows, columns), got {volume.shape}"
            )
        if len(self.spacing_mm) != 3 or any(s <= 0 for s in self.spacing_mm):
            raise SimulationError(f"case {self.case_id!r}: spacing_mm must be 3 positive numbers")
        object.__setattr__(self, "volume", volume.astype(np.uint8, copy=False))

    @classmethod
    def from_phantom(
        cls,
        series: PhantomSeries,
        *,
        case_id: str | None = None,
        categories: Mapping[str, str] | None = None,
        lesions: Mapping[str, Sequence[int]] | None = None,
    ) -> CaseTruth:
        """The truth of a phantom series (its series UID is the default case id)."""
        geometry = series.geometry
        return cls(
            case_id or series.series_instance_uid,
            series.ground_truth(),
            (geometry.slice_spacing_mm, geometry.pixel_spacing_mm, geometry.pixel_spacing_mm),
            dict(categories or {}),
            {k: tuple(v) for k, v in (lesions or {}).items()},
        )

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(slices, rows, columns)``."""
        slices, rows, columns = self.volume.shape
        return (int(slices), int(rows), int(columns))

    def lesion_values(self, label: str) -> tuple[int, ...]:
        """The lesion values ``label`` covers that are present in the volume."""
        present = tuple(int(v) for v in np.unique(self.volume) if v)
        wanted = self.lesions.get(label)
        if wanted is None:
            return present
        return tuple(v for v in present if v in set(wanted))
