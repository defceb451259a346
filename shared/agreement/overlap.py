"""Overlap of two readers' masks: Dice, IoU, volume difference, and their summable sums.

Definitions
    ``Dice = 2|A ∩ B| / (|A| + |B|)`` (Dice 1945), ``IoU = |A ∩ B| / |A ∪ B|``
    (Jaccard 1912), with ``|·|`` a voxel count.

Empty masks — convention
    Both masks empty: Dice = IoU = **1.0** (the readers agree the structure is
    absent). One empty, one not: Dice = IoU = 0.0. :class:`OverlapStats` also counts
    both-empty cases per label, so a dashboard can report or exclude them. This is
    MONAI's ``DiceMetric``/``MeanIoU`` with ``ignore_empty=False``; its default
    (``ignore_empty=True``) gives ``nan`` whenever the reference mask is empty.

Sufficient statistic
    :class:`OverlapStats`, per label: ``Σ|A ∩ B|``, ``Σ|A|``, ``Σ|B|`` (integers),
    the number of cases, the sum of per-case Dice, the number of both-empty cases
    and a histogram of per-case Dice on equal bins over [0, 1]. Addition is exact
    for every field except the per-case Dice sum (floating-point rounding only).
    Pooled Dice/IoU are *voxel-weighted* over cases (large structures weigh more);
    the mean per-case Dice weighs cases equally. Quantiles of per-case Dice taken
    from the histogram are approximate, off by at most one bin width (``1/n_bins``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.agreement.errors import AgreementInputError, EmptyInputError, IncompatibleStatsError
from shared.agreement.summable import Summable
from shared.agreement.validation import as_mask, check_same_shape, check_spacing

__all__ = ["OverlapStats", "dice", "iou", "volume_difference"]


def _checked_pair(a: ArrayLike, b: ArrayLike) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    mask_a, mask_b = as_mask(a, "a"), as_mask(b, "b")
    check_same_shape(mask_a, mask_b, ("a", "b"))
    return mask_a, mask_b


def _dice_from_counts(inter: Any, size_a: Any, size_b: Any) -> Any:
    total = np.asarray(size_a, dtype=np.float64) + size_b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total == 0, 1.0, 2.0 * np.asarray(inter, dtype=np.float64) / total)


def _iou_from_counts(inter: Any, size_a: Any, size_b: Any) -> Any:
    union = np.asarray(size_a, dtype=np.float64) + size_b - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union == 0, 1.0, np.asarray(inter, dtype=np.float64) / union)


def dice(a: ArrayLike, b: ArrayLike) -> float:
    """Dice coefficient of two boolean masks (1.0 when both are empty).

    Parameters
    ----------
    a, b
        Boolean masks of the same shape (integer 0/1 arrays are accepted).

    Returns
    -------
    float
        Dice in [0, 1].

    Raises
    ------
    AgreementInputError
        If a mask is not boolean.
    ShapeMismatchError
        If the shapes differ.
    """
    mask_a, mask_b = _checked_pair(a, b)
    inter = int(np.count_nonzero(mask_a & mask_b))
    return float(
        _dice_from_counts(inter, int(np.count_nonzero(mask_a)), int(np.count_nonzero(mask_b)))
    )


def iou(a: ArrayLike, b: ArrayLike) -> float:
    """Intersection over union (Jaccard index) of two boolean masks (1.0 when both empty).

    Parameters
    ----------
    a, b
        Boolean masks of the same shape.

    Returns
    -------
    float
        IoU in [0, 1].

    Raises
    ------
    AgreementInputError
        If a mask is not boolean.
    ShapeMismatchError
        If the shapes differ.
    """
    mask_a, mask_b = _checked_pair(a, b)
    inter = int(np.count_nonzero(mask_a & mask_b))
    return float(
        _iou_from_counts(inter, int(np.count_nonzero(mask_a)), int(np.count_nonzero(mask_b)))
    )


def volume_difference(
    a: ArrayLike,
    b: ArrayLike,
    spacing: Sequence[float] | None = None,
    *,
    relative: bool = False,
) -> float:
    """Volume of ``b`` minus volume of ``a``, in mm³ (or relative to their mean).

    Parameters
    ----------
    a, b
        Boolean masks of the same shape.
    spacing
        Millimetres per voxel along each array axis; ``None`` counts voxels.
    relative
        Return ``(V_b − V_a) / ((V_a + V_b) / 2)`` instead, a symmetric relative
        difference in [−2, 2]; 0.0 when both masks are empty.

    Returns
    -------
    float
        The signed difference.

    Raises
    ------
    AgreementInputError, ShapeMismatchError, SpacingError
        On invalid masks or spacing.
    """
    mask_a, mask_b = _checked_pair(a, b)
    voxel = float(np.prod(check_spacing(spacing, mask_a.ndim)))
    vol_a = np.count_nonzero(mask_a) * voxel
    vol_b = np.count_nonzero(mask_b) * voxel
    if not relative:
        return float(vol_b - vol_a)
    mean = (vol_a + vol_b) / 2.0
    return 0.0 if mean == 0 else float((vol_b - vol_a) / mean)


class OverlapStats(Summable):
    """Summable per-label overlap sums over cases.

    Parameters
    ----------
    labels
        Label values, one per row of every array.
    n_cases
        Cases summed.
    intersection, size_a, size_b
        Per label ``Σ|A ∩ B|``, ``Σ|A|``, ``Σ|B|`` in voxels.
    case_dice_sum
        Per label, the sum of per-case Dice (both-empty cases count 1.0).
    both_empty
        Per label, cases where both readers left the label empty.
    dice_histogram
        ``labels × n_bins`` counts of per-case Dice on equal bins over [0, 1].

    Raises
    ------
    AgreementInputError
        If array shapes disagree with ``labels``.
    """

    _FIELDS = ("intersection", "size_a", "size_b", "case_dice_sum", "both_empty")
    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self,
        labels: Sequence[int],
        n_cases: int,
        intersection: ArrayLike,
        size_a: ArrayLike,
        size_b: ArrayLike,
        case_dice_sum: ArrayLike,
        both_empty: ArrayLike,
        dice_histogram: ArrayLike,
    ) -> None:
        self.labels: tuple[int, ...] = tuple(int(x) for x in labels)
        n_labels = len(self.labels)
        if n_labels == 0 or len(set(self.labels)) != n_labels:
            raise AgreementInputError(f"labels must be non-empty and distinct; got {labels}.")
        self.n_cases = int(n_cases)
        self.intersection: NDArray[np.int64] = np.asarray(intersection, dtype=np.int64)
        self.size_a: NDArray[np.int64] = np.asarray(size_a, dtype=np.int64)
        self.size_b: NDArray[np.int64] = np.asarray(size_b, dtype=np.int64)
        self.case_dice_sum: NDArray[np.float64] = np.asarray(case_dice_sum, dtype=np.float64)
        self.both_empty: NDArray[np.int64] = np.asarray(both_empty, dtype=np.int64)
        self.dice_histogram: NDArray[np.int64] = np.asarray(dice_histogram, dtype=np.int64)
        for name in self._FIELDS:
            if getattr(self, name).shape != (n_labels,):
                raise AgreementInputError(
                    f"{name} must have one entry per label ({n_labels}); "
                    f"got shape {getattr(self, name).shape}."
                )
        if self.dice_histogram.ndim != 2 or self.dice_histogram.shape[0] != n_labels:
            raise AgreementInputError("dice_histogram must be labels × n_bins.")

    @property
    def n_bins(self) -> int:
        """Number of per-case Dice histogram bins."""
        return int(self.dice_histogram.shape[1])

    @classmethod
    def from_label_maps(
        cls, a: ArrayLike, b: ArrayLike, labels: Sequence[int], *, n_bins: int = 20
    ) -> OverlapStats:
        """Overlap sums of one case given as two integer label maps.

        Parameters
        ----------
        a, b
            Integer label maps of the same shape (0 is usually background).
        labels
            The labels to measure (each compared as ``a == label`` vs ``b == label``).
        n_bins
            Bins of the per-case Dice histogram.

        Returns
        -------
        OverlapStats
            Statistics of this one case.

        Raises
        ------
        AgreementInputError
            If the maps are not integer arrays or ``n_bins < 1``.
        ShapeMismatchError
            If the shapes differ.
        """
        map_a, map_b = np.asarray(a), np.asarray(b)
        for name, arr in (("a", map_a), ("b", map_b)):
            if arr.dtype.kind not in "iub":
                raise AgreementInputError(
                    f"{name} must be an integer label map; got dtype {arr.dtype}."
                )
        check_same_shape(map_a, map_b, ("a", "b"))
        if n_bins < 1:
            raise AgreementInputError(f"n_bins must be at least 1; got {n_bins}.")
        labs = [int(x) for x in labels]
        inter, sa, sb = [], [], []
        for lab in labs:
            in_a, in_b = map_a == lab, map_b == lab
            inter.append(int(np.count_nonzero(in_a & in_b)))
            sa.append(int(np.count_nonzero(in_a)))
            sb.append(int(np.count_nonzero(in_b)))
        case_dice = _dice_from_counts(np.array(inter), np.array(sa), np.array(sb))
        hist = np.zeros((len(labs), n_bins), dtype=np.int64)
        bins = np.minimum((case_dice * n_bins).astype(np.int64), n_bins - 1)
        hist[np.arange(len(labs)), bins] = 1
        empty = (np.array(sa) == 0) & (np.array(sb) == 0)
        return cls(labs, 1, inter, sa, sb, case_dice, empty.astype(np.int64), hist)

    @classmethod
    def from_masks(cls, a: ArrayLike, b: ArrayLike, *, n_bins: int = 20) -> OverlapStats:
        """Overlap sums of one case given as two boolean masks (stored under label 1).

        Parameters
        ----------
        a, b
            Boolean masks of the same shape.
        n_bins
            Bins of the per-case Dice histogram.

        Returns
        -------
        OverlapStats
            Statistics of this one case, label ``1``.
        """
        mask_a, mask_b = _checked_pair(a, b)
        return cls.from_label_maps(
            mask_a.astype(np.uint8), mask_b.astype(np.uint8), [1], n_bins=n_bins
        )

    def __add__(self, other: object) -> OverlapStats:
        if not isinstance(other, OverlapStats):
            return NotImplemented
        if self.labels != other.labels:
            raise IncompatibleStatsError(
                f"cannot add overlap sums over different labels: {list(self.labels)} vs "
                f"{list(other.labels)}.",
                field="labels",
            )
        if self.n_bins != other.n_bins:
            raise IncompatibleStatsError(
                f"cannot add Dice histograms with {self.n_bins} and {other.n_bins} bins; use "
                "the same n_bins at every site.",
                field="dice_histogram",
            )
        return OverlapStats(
            self.labels,
            self.n_cases + other.n_cases,
            self.intersection + other.intersection,
            self.size_a + other.size_a,
            self.size_b + other.size_b,
            self.case_dice_sum + other.case_dice_sum,
            self.both_empty + other.both_empty,
            self.dice_histogram + other.dice_histogram,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OverlapStats):
            return NotImplemented
        mine, theirs = self.to_arrays(), other.to_arrays()
        return all(np.array_equal(mine[k], theirs[k]) for k in mine)

    def __repr__(self) -> str:
        return f"OverlapStats(labels={list(self.labels)}, n_cases={self.n_cases})"

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """Serialize to plain numpy arrays.

        Returns
        -------
        dict
            One array per constructor argument.
        """
        arrays: dict[str, NDArray[Any]] = {
            "labels": np.asarray(self.labels, dtype=np.int64),
            "n_cases": np.asarray(self.n_cases, dtype=np.int64),
            "dice_histogram": self.dice_histogram.copy(),
        }
        arrays.update({f: getattr(self, f).copy() for f in self._FIELDS})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]]) -> OverlapStats:
        """Rebuild from :meth:`to_arrays` output.

        Parameters
        ----------
        arrays
            The mapping :meth:`to_arrays` produced.

        Returns
        -------
        OverlapStats
            The statistics.
        """
        return cls(
            np.asarray(arrays["labels"]).tolist(),
            int(arrays["n_cases"]),
            arrays["intersection"],
            arrays["size_a"],
            arrays["size_b"],
            arrays["case_dice_sum"],
            arrays["both_empty"],
            arrays["dice_histogram"],
        )

    def pooled_dice(self) -> dict[int, float]:
        """Voxel-weighted Dice per label, ``2Σ|A∩B| / Σ(|A|+|B|)`` (1.0 if all empty).

        Returns
        -------
        dict
            Label → pooled Dice.
        """
        values = _dice_from_counts(self.intersection, self.size_a, self.size_b)
        return dict(zip(self.labels, (float(v) for v in values), strict=True))

    def pooled_iou(self) -> dict[int, float]:
        """Voxel-weighted IoU per label, ``Σ|A∩B| / Σ|A∪B|`` (1.0 if all empty).

        Returns
        -------
        dict
            Label → pooled IoU.
        """
        values = _iou_from_counts(self.intersection, self.size_a, self.size_b)
        return dict(zip(self.labels, (float(v) for v in values), strict=True))

    def mean_dice(self) -> dict[int, float]:
        """Mean per-case Dice per label (both-empty cases count as 1.0).

        Returns
        -------
        dict
            Label → mean per-case Dice.

        Raises
        ------
        EmptyInputError
            If no case was summed (there is nothing to average).
        """
        n = self.n_cases
        if n == 0:
            raise EmptyInputError(
                "no case was summed, so there is no per-case Dice to average; add the "
                "statistics of at least one case."
            )
        return {lab: float(s) / n for lab, s in zip(self.labels, self.case_dice_sum, strict=True)}

    def dice_bin_edges(self) -> NDArray[np.float64]:
        """Edges of the per-case Dice histogram (``n_bins + 1`` values over [0, 1]).

        Returns
        -------
        numpy.ndarray
            Bin edges; the last bin is closed on the right, so Dice 1.0 falls in it.
        """
        return np.linspace(0.0, 1.0, self.n_bins + 1)
