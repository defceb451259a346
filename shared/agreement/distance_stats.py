"""Summable surface-distance statistics: binned distance histograms per label.

Fields (per label)
    * ``surface_histogram`` — counts of every directed surface distance (A→B and
      B→A, all cases) on bins ``[0, w), [w, 2w), …, [(n−1)w, n·w)`` plus a last
      overflow bin ``[n·w, ∞)``;
    * ``distance_sum`` / ``distance_count`` — sum and number of those distances;
    * ``max_distance`` — the largest distance seen (combined by ``max``);
    * ``case_hd95_histogram`` / ``case_hd95_sum`` / ``case_assd_sum`` — per-case
      HD95 binned the same way, and per-case HD95 and ASSD sums over measured cases;
    * ``measured`` / ``one_empty`` / ``both_empty`` — case counts by kind (distances
      are only recorded for cases where both masks are non-empty; see
      :mod:`shared.agreement.surface` for the empty-mask convention).

A label with no measured case
    Every summary below is taken over measured cases. A label that has none follows
    the per-case convention of :mod:`shared.agreement.surface`: **0.0** when every
    case left it empty in both masks (the readers agree it is absent), **inf** when
    some case had it in exactly one mask. With no case summed at all the summaries
    raise :class:`~shared.agreement.errors.EmptyInputError`. No summary returns NaN.

What pools exactly, and what does not
    Exact (up to floating-point rounding of sums): the pooled ASSD
    (``distance_sum / distance_count``, i.e. surface-voxel-weighted), the pooled
    Hausdorff distance (``max_distance``), mean per-case HD95 and ASSD, and all counts.
    **Approximate**: any percentile read from a histogram — pooled HD95 of all
    surface distances and quantiles of per-case HD95. :meth:`pooled_percentile`
    returns the upper edge of the bin where the cumulative count reaches the
    percentile, so it over-estimates by less than one bin width ``w`` (and
    returns ``inf`` if that bin is the overflow bin). Note the pooled percentile is
    over the union of both directions' distances, whereas per-case
    :func:`~shared.agreement.surface.hausdorff` takes the larger directed
    percentile. Sites must use the same ``bin_width_mm`` and ``n_bins``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.agreement.errors import AgreementInputError, EmptyInputError, IncompatibleStatsError
from shared.agreement.summable import Summable
from shared.agreement.surface import directed_surface_distances
from shared.agreement.validation import as_mask, check_same_shape

__all__ = ["DistanceHistogramStats"]

_INT_FIELDS = ("distance_count", "measured", "one_empty", "both_empty")
_FLOAT_FIELDS = ("distance_sum", "case_hd95_sum", "case_assd_sum")
_HIST_FIELDS = ("surface_histogram", "case_hd95_histogram")


class DistanceHistogramStats(Summable):
    """Summable per-label surface-distance histograms and sums (see module docstring).

    Parameters
    ----------
    labels
        Label values, one per row.
    bin_width_mm
        Histogram bin width ``w`` in mm.
    n_cases
        Cases summed.
    **fields
        The arrays named in the module docstring, each with one row per label
        (histograms: ``labels × (n_bins + 1)``).

    Raises
    ------
    AgreementInputError
        If a field is missing or has the wrong shape, or ``bin_width_mm`` is not positive.
    """

    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self,
        labels: Sequence[int],
        bin_width_mm: float,
        n_cases: int,
        **fields: ArrayLike,
    ) -> None:
        self.labels: tuple[int, ...] = tuple(int(x) for x in labels)
        self.bin_width_mm = float(bin_width_mm)
        self.n_cases = int(n_cases)
        if not (math.isfinite(self.bin_width_mm) and self.bin_width_mm > 0):
            raise AgreementInputError(f"bin_width_mm must be positive; got {bin_width_mm}.")
        n_labels = len(self.labels)
        if n_labels == 0 or len(set(self.labels)) != n_labels:
            raise AgreementInputError(f"labels must be non-empty and distinct; got {labels}.")
        expected = set(_INT_FIELDS + _FLOAT_FIELDS + _HIST_FIELDS + ("max_distance",))
        if set(fields) != expected:
            raise AgreementInputError(
                f"DistanceHistogramStats needs fields {sorted(expected)}; got {sorted(fields)}."
            )
        self.arrays: dict[str, NDArray[Any]] = {}
        for name in _INT_FIELDS + _HIST_FIELDS:
            self.arrays[name] = np.asarray(fields[name], dtype=np.int64)
        for name in (*_FLOAT_FIELDS, "max_distance"):
            self.arrays[name] = np.asarray(fields[name], dtype=np.float64)
        for name, arr in self.arrays.items():
            if arr.shape[:1] != (n_labels,) or (name in _HIST_FIELDS) != (arr.ndim == 2):
                raise AgreementInputError(f"{name} has shape {arr.shape}; wrong for {n_labels}.")
        if self.arrays["surface_histogram"].shape != self.arrays["case_hd95_histogram"].shape:
            raise AgreementInputError("the two histograms must have the same bins.")

    @property
    def n_bins(self) -> int:
        """Finite bins (the overflow bin is extra)."""
        return int(self.arrays["surface_histogram"].shape[1] - 1)

    def bin_edges(self) -> NDArray[np.float64]:
        """Edges of the histogram bins in mm, ending with ``inf`` for the overflow bin.

        Returns
        -------
        numpy.ndarray
            ``n_bins + 2`` edges.
        """
        finite = np.arange(self.n_bins + 1, dtype=np.float64) * self.bin_width_mm
        return np.append(finite, np.inf)

    @classmethod
    def from_label_maps(
        cls,
        a: ArrayLike,
        b: ArrayLike,
        labels: Sequence[int],
        spacing: Sequence[float] | None = None,
        *,
        bin_width_mm: float = 0.5,
        n_bins: int = 200,
    ) -> DistanceHistogramStats:
        """Distance statistics of one case given as two integer label maps.

        Parameters
        ----------
        a, b
            Integer label maps of the same 2-D or 3-D shape.
        labels
            Labels to measure.
        spacing
            Millimetres per array axis; ``None`` means 1 mm.
        bin_width_mm, n_bins
            Histogram bins (``n_bins`` finite bins plus one overflow bin).

        Returns
        -------
        DistanceHistogramStats
            Statistics of this one case.

        Raises
        ------
        AgreementInputError, ShapeMismatchError, SpacingError
            On invalid input.
        """
        map_a, map_b = np.asarray(a), np.asarray(b)
        check_same_shape(map_a, map_b, ("a", "b"))
        if n_bins < 1:
            raise AgreementInputError(f"n_bins must be at least 1; got {n_bins}.")
        labs = [int(x) for x in labels]
        n_labels = len(labs)
        hist = np.zeros((n_labels, n_bins + 1), dtype=np.int64)
        hd95_hist = np.zeros_like(hist)
        f: dict[str, NDArray[Any]] = {
            name: np.zeros(n_labels, dtype=np.int64) for name in _INT_FIELDS
        }
        f.update({name: np.zeros(n_labels) for name in (*_FLOAT_FIELDS, "max_distance")})

        def to_bin(d: NDArray[np.float64]) -> NDArray[np.int64]:
            return np.minimum(np.floor(d / bin_width_mm), n_bins).astype(np.int64)

        for row, lab in enumerate(labs):
            d_ab, d_ba = directed_surface_distances(map_a == lab, map_b == lab, spacing)
            if d_ab.size == 0 and d_ba.size == 0:
                f["both_empty"][row] = 1
                continue
            if d_ab.size == 0 or d_ba.size == 0:
                f["one_empty"][row] = 1
                continue
            both = np.concatenate([d_ab, d_ba])
            hist[row] = np.bincount(to_bin(both), minlength=n_bins + 1)
            hd95 = max(float(np.percentile(d_ab, 95)), float(np.percentile(d_ba, 95)))
            hd95_hist[row, to_bin(np.array([hd95]))[0]] = 1
            f["measured"][row] = 1
            f["distance_sum"][row] = both.sum()
            f["distance_count"][row] = both.size
            f["max_distance"][row] = both.max()
            f["case_hd95_sum"][row] = hd95
            f["case_assd_sum"][row] = both.mean()
        return cls(
            labs, bin_width_mm, 1, surface_histogram=hist, case_hd95_histogram=hd95_hist, **f
        )

    @classmethod
    def from_masks(
        cls,
        a: ArrayLike,
        b: ArrayLike,
        spacing: Sequence[float] | None = None,
        *,
        bin_width_mm: float = 0.5,
        n_bins: int = 200,
    ) -> DistanceHistogramStats:
        """Distance statistics of one case given as two boolean masks (label ``1``).

        Parameters
        ----------
        a, b
            Boolean masks of the same shape.
        spacing
            Millimetres per array axis.
        bin_width_mm, n_bins
            Histogram bins.

        Returns
        -------
        DistanceHistogramStats
            Statistics of this one case under label ``1``.
        """
        mask_a, mask_b = as_mask(a, "a"), as_mask(b, "b")
        return cls.from_label_maps(
            mask_a.astype(np.uint8),
            mask_b.astype(np.uint8),
            [1],
            spacing,
            bin_width_mm=bin_width_mm,
            n_bins=n_bins,
        )

    def __add__(self, other: object) -> DistanceHistogramStats:
        if not isinstance(other, DistanceHistogramStats):
            return NotImplemented
        if self.labels != other.labels:
            raise IncompatibleStatsError(
                f"cannot add distance statistics over different labels: {list(self.labels)} "
                f"vs {list(other.labels)}.",
                field="labels",
            )
        if self.bin_width_mm != other.bin_width_mm or self.n_bins != other.n_bins:
            raise IncompatibleStatsError(
                f"cannot add histograms with different bins: {self.n_bins}×"
                f"{self.bin_width_mm} mm vs {other.n_bins}×{other.bin_width_mm} mm. Use the "
                "same bin_width_mm and n_bins at every site.",
                field="bin_edges",
            )
        fields = {k: v + other.arrays[k] for k, v in self.arrays.items() if k != "max_distance"}
        fields["max_distance"] = np.maximum(
            self.arrays["max_distance"], other.arrays["max_distance"]
        )
        return DistanceHistogramStats(
            self.labels, self.bin_width_mm, self.n_cases + other.n_cases, **fields
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DistanceHistogramStats):
            return NotImplemented
        mine, theirs = self.to_arrays(), other.to_arrays()
        return all(np.array_equal(mine[k], theirs[k]) for k in mine)

    def __repr__(self) -> str:
        return (
            f"DistanceHistogramStats(labels={list(self.labels)}, n_cases={self.n_cases}, "
            f"bins={self.n_bins}×{self.bin_width_mm} mm)"
        )

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """Serialize to plain numpy arrays.

        Returns
        -------
        dict
            ``labels``, ``bin_width_mm``, ``n_cases`` and every field.
        """
        out: dict[str, NDArray[Any]] = {
            "labels": np.asarray(self.labels, dtype=np.int64),
            "bin_width_mm": np.asarray(self.bin_width_mm, dtype=np.float64),
            "n_cases": np.asarray(self.n_cases, dtype=np.int64),
        }
        out.update({k: v.copy() for k, v in self.arrays.items()})
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]]) -> DistanceHistogramStats:
        """Rebuild from :meth:`to_arrays` output.

        Parameters
        ----------
        arrays
            The mapping :meth:`to_arrays` produced.

        Returns
        -------
        DistanceHistogramStats
            The statistics.
        """
        rest = {k: v for k, v in arrays.items() if k not in ("labels", "bin_width_mm", "n_cases")}
        return cls(
            np.asarray(arrays["labels"]).tolist(),
            float(arrays["bin_width_mm"]),
            int(arrays["n_cases"]),
            **rest,
        )

    def _per_label(self, values: Any) -> dict[int, float]:
        return dict(zip(self.labels, (float(v) for v in values), strict=True))

    def _unmeasured(self) -> NDArray[np.float64]:
        """Per label, the value of a label with no measured case (see module docstring)."""
        if self.n_cases == 0:
            raise EmptyInputError(
                "no case was summed, so there is no surface distance to report; add the "
                "statistics of at least one case."
            )
        return np.where(self.arrays["one_empty"] > 0, np.inf, 0.0)

    def pooled_assd(self) -> dict[int, float]:
        """Mean of all directed surface distances over measured cases (exact), in mm.

        Returns
        -------
        dict
            Label → pooled ASSD (0.0 or inf for a label never measured).

        Raises
        ------
        EmptyInputError
            If no case was summed.
        """
        count = self.arrays["distance_count"]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.arrays["distance_sum"] / count
        return self._per_label(np.where(count > 0, mean, self._unmeasured()))

    def max_hausdorff(self) -> dict[int, float]:
        """Largest surface distance over measured cases (exact pooled HD), in mm.

        Returns
        -------
        dict
            Label → maximum (0.0 or inf for a label never measured).

        Raises
        ------
        EmptyInputError
            If no case was summed.
        """
        measured = self.arrays["measured"] > 0
        return self._per_label(np.where(measured, self.arrays["max_distance"], self._unmeasured()))

    def mean_case(self, metric: str = "hd95") -> dict[int, float]:
        """Mean per-case HD95 (``"hd95"``) or ASSD (``"assd"``) over measured cases (exact).

        Parameters
        ----------
        metric
            ``"hd95"`` or ``"assd"``.

        Returns
        -------
        dict
            Label → mean (0.0 or inf for a label never measured).

        Raises
        ------
        AgreementInputError
            On an unknown metric.
        EmptyInputError
            If no case was summed.
        """
        if metric not in ("hd95", "assd"):
            raise AgreementInputError(f"metric must be 'hd95' or 'assd'; got {metric!r}.")
        n = self.arrays["measured"]
        total = self.arrays[f"case_{metric}_sum"]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = total / n
        return self._per_label(np.where(n > 0, mean, self._unmeasured()))

    def pooled_percentile(self, percentile: float = 95.0) -> dict[int, float]:
        """Approximate percentile of all pooled surface distances (upper bin edge), in mm.

        Parameters
        ----------
        percentile
            In (0, 100].

        Returns
        -------
        dict
            Label → upper edge of the bin holding the percentile: at most one bin width
            above the exact value; ``inf`` if it falls in the overflow bin; 0.0 or inf
            for a label never measured.

        Raises
        ------
        AgreementInputError
            If ``percentile`` is out of range.
        EmptyInputError
            If no case was summed.
        """
        return self._histogram_quantile(self.arrays["surface_histogram"], percentile)

    def case_hd95_quantile(self, percentile: float = 50.0) -> dict[int, float]:
        """Approximate percentile of per-case HD95 across measured cases (upper bin edge).

        Parameters
        ----------
        percentile
            In (0, 100]; 50 gives the median case.

        Returns
        -------
        dict
            Label → value, with the same approximation as :meth:`pooled_percentile`.
        """
        return self._histogram_quantile(self.arrays["case_hd95_histogram"], percentile)

    def _histogram_quantile(self, hist: NDArray[np.int64], percentile: float) -> dict[int, float]:
        if not (0.0 < percentile <= 100.0):
            raise AgreementInputError(f"percentile must lie in (0, 100]; got {percentile}.")
        upper = self.bin_edges()[1:]
        unmeasured = self._unmeasured()
        out = []
        for row, fallback in zip(hist, unmeasured, strict=True):
            total = int(row.sum())
            if total == 0:
                out.append(float(fallback))
                continue
            cum = np.cumsum(row)
            idx = int(np.searchsorted(cum, percentile / 100.0 * total - 1e-9))
            out.append(float(upper[min(idx, upper.size - 1)]))
        return self._per_label(out)
