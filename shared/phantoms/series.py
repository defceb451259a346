"""A generated phantom series: lazy slices, ground truth and identifiers.

:func:`generate_series` does no pixel work: it fixes the identifiers and
returns a :class:`PhantomSeries` that renders each slice when asked, so a
300-slice series streams through bounded memory.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping

import numpy as np
import numpy.typing as npt
from pydicom.dataset import FileDataset

from shared.errors import PhantomSpecError
from shared.phantoms.canaries import Canaries
from shared.phantoms.geometry import VolumeGeometry
from shared.phantoms.headers import SeriesHeader, build_dataset
from shared.phantoms.identifiers import derive_digest, derive_uid
from shared.phantoms.lesions import Lesion
from shared.phantoms.render import SliceRenderer
from shared.phantoms.spec import PhantomSpec

__all__ = ["PhantomSeries", "generate_series", "generate_study"]


class PhantomSeries:
    """One synthetic series with its ground truth.

    Build it with :func:`generate_series`. Patient and study identifiers
    depend on ``(seed, site)`` only, so series generated with the same seed
    and site belong to the same patient and study; series-level UIDs also
    depend on everything else in the spec.

    Parameters
    ----------
    spec
        The validated request.
    """

    def __init__(self, spec: PhantomSpec) -> None:
        self._spec = spec
        seed, site = spec.seed, spec.site
        series_key = f"series/{spec!r}"
        self._canaries = Canaries.derive(seed, site)
        self._study_uid = derive_uid(seed, site, "study")
        self._series_uid = derive_uid(seed, site, series_key)
        self._frame_uid = derive_uid(seed, site, f"frame-of-reference/{series_key}")
        sop_uids = tuple(
            derive_uid(seed, site, f"instance/{series_key}/{index}") for index in range(spec.slices)
        )
        self._header = SeriesHeader(
            spec=spec,
            canaries=self._canaries,
            study_instance_uid=self._study_uid,
            series_instance_uid=self._series_uid,
            frame_of_reference_uid=self._frame_uid,
            sop_instance_uids=sop_uids,
            study_datetime=_study_datetime(seed, site),
            patient_sex="FM"[derive_digest(seed, site, "patient-sex")[0] % 2],
        )
        self._renderer = SliceRenderer(spec, noise_key=self._series_uid)

    def __len__(self) -> int:
        """Return the number of slices."""
        return self._spec.slices

    def __repr__(self) -> str:
        """Return a short description."""
        spec = self._spec
        return (
            f"PhantomSeries({spec.modality.value} {spec.slices}x{spec.rows}x{spec.columns}, "
            f"site={spec.site!r}, seed={spec.seed}, series={self._series_uid})"
        )

    @property
    def spec(self) -> PhantomSpec:
        """The request this series was generated from."""
        return self._spec

    @property
    def geometry(self) -> VolumeGeometry:
        """The voxel grid, in patient coordinates."""
        return self._spec.geometry

    @property
    def lesions(self) -> tuple[Lesion, ...]:
        """The lesions drawn in the series (the defaults when the spec had none)."""
        return self._spec.lesions

    @property
    def canaries(self) -> tuple[str, ...]:
        """Every planted identifying value; none may ever leave a node."""
        return self._canaries.strings

    @property
    def canary_fields(self) -> Mapping[str, str]:
        """Which canary went where: field name → value."""
        return self._canaries.by_field

    @property
    def patient_id(self) -> str:
        """PatientID (itself a canary)."""
        return self._canaries["patient_id"]

    @property
    def study_instance_uid(self) -> str:
        """StudyInstanceUID, shared by every series of the same seed and site."""
        return self._study_uid

    @property
    def series_instance_uid(self) -> str:
        """SeriesInstanceUID."""
        return self._series_uid

    @property
    def frame_of_reference_uid(self) -> str:
        """FrameOfReferenceUID."""
        return self._frame_uid

    @property
    def sop_instance_uids(self) -> tuple[str, ...]:
        """SOPInstanceUID of every slice, in InstanceNumber order."""
        return tuple(self._header.sop_instance_uids)

    def datasets(self) -> Iterator[FileDataset]:
        """Yield one new dataset per slice, in InstanceNumber order, rendered lazily."""
        for index in range(self._spec.slices):
            yield self.dataset(index)

    def dataset(self, index: int) -> FileDataset:
        """Return slice ``index`` (0-based; InstanceNumber ``index + 1``) as a new dataset."""
        self._check_index(index)
        return build_dataset(self._header, index, self._renderer.pixel_slice(index))

    def pixel_slice(self, index: int) -> npt.NDArray[np.integer]:
        """Return the stored pixel values of slice ``index`` (what PixelData holds)."""
        self._check_index(index)
        return self._renderer.pixel_slice(index)

    def mask_slice(self, index: int) -> npt.NDArray[np.uint8]:
        """Return the ground-truth labels of slice ``index``, shape ``(rows, columns)``."""
        self._check_index(index)
        return self._renderer.mask_slice(index)

    def ground_truth(self) -> npt.NDArray[np.uint8]:
        """Return the label volume, uint8, shape ``(slices, rows, columns)``.

        Voxel ``[k, r, c]`` belongs to slice ``k`` (InstanceNumber ``k + 1``),
        row ``r`` and column ``c`` of its pixel data; 0 is background and
        each lesion's voxels carry its label.
        """
        spec = self._spec
        volume = np.zeros((spec.slices, spec.rows, spec.columns), dtype=np.uint8)
        for index in range(spec.slices):
            volume[index] = self._renderer.mask_slice(index)
        return volume

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self._spec.slices:
            raise IndexError(
                f"slice index {index} is outside 0..{self._spec.slices - 1} "
                "(indices are 0-based; InstanceNumber is index + 1)"
            )


def _study_datetime(seed: int, site: str) -> datetime.datetime:
    digest = derive_digest(seed, site, "study-datetime")
    day = int.from_bytes(digest[:4], "big") % 730
    second = 7 * 3600 + int.from_bytes(digest[4:8], "big") % (11 * 3600)
    start = datetime.datetime(2023, 1, 2)
    return start + datetime.timedelta(days=day, seconds=second)


def generate_series(spec: PhantomSpec) -> PhantomSeries:
    """Return the phantom series that ``spec`` describes.

    Parameters
    ----------
    spec
        The request; it was validated when it was built.

    Returns
    -------
    PhantomSeries
        Renders slices lazily; the same spec always gives the same bytes.
    """
    return PhantomSeries(spec)


def generate_study(*specs: PhantomSpec) -> tuple[PhantomSeries, ...]:
    """Return several series of one patient's study.

    Parameters
    ----------
    *specs
        At least one spec; all with the same ``seed`` and ``site`` and each
        with its own ``series_number``.

    Returns
    -------
    tuple of PhantomSeries
        In the order given, sharing PatientID and StudyInstanceUID.

    Raises
    ------
    PhantomSpecError
        When the specs are empty, mix seeds or sites, or repeat a series number.
    """
    if not specs:
        raise PhantomSpecError("generate_study needs at least one PhantomSpec")
    first = specs[0]
    numbers: set[int] = set()
    for spec in specs:
        if (spec.seed, spec.site) != (first.seed, first.site):
            raise PhantomSpecError(
                f"series of one study must share seed and site; got seed={spec.seed}, "
                f"site={spec.site!r} after seed={first.seed}, site={first.site!r}"
            )
        if spec.series_number in numbers:
            raise PhantomSpecError(
                f"series_number {spec.series_number} appears twice; give each series its own "
                "number, e.g. PhantomSpec(..., series_number=2)"
            )
        numbers.add(spec.series_number)
    return tuple(generate_series(spec) for spec in specs)
