"""Summable detection-agreement counts: objects per reader, matches, F1.

Sufficient statistic
    :class:`DetectionStats` — cases, objects per reader, matched pairs (integers),
    and the sums of matched scores and of per-case F1 (floats). Sums add; the pooled
    F1 ``2Σmatched / Σ(n_a + n_b)`` pools exactly, mean per-case F1 and mean matched
    score up to floating-point rounding. Statistics scored by IoU (boxes, polygons)
    and by distance (keypoints) cannot be added together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shared.agreement.detection import MatchResult
from shared.agreement.errors import AgreementInputError, EmptyInputError, IncompatibleStatsError
from shared.agreement.summable import Summable

__all__ = ["DetectionStats"]


class DetectionStats(Summable):
    """Summable detection-agreement counts for one kind of object.

    Parameters
    ----------
    score
        ``"iou"`` or ``"distance_mm"`` — what ``score_sum`` adds up.
    n_cases, n_a, n_b, n_matched
        Cases; objects of reader A and B; matched pairs.
    score_sum
        Sum of matched-pair scores.
    case_f1_sum
        Sum of per-case F1.

    Raises
    ------
    AgreementInputError
        On negative counts or more matches than objects.
    """

    __slots__ = ("case_f1_sum", "n_a", "n_b", "n_cases", "n_matched", "score", "score_sum")
    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self,
        score: str,
        n_cases: int,
        n_a: int,
        n_b: int,
        n_matched: int,
        score_sum: float,
        case_f1_sum: float,
    ) -> None:
        if score not in ("iou", "distance_mm"):
            raise AgreementInputError(f"score must be 'iou' or 'distance_mm'; got {score!r}.")
        if min(n_cases, n_a, n_b, n_matched) < 0 or n_matched > min(n_a, n_b):
            raise AgreementInputError("counts must be non-negative and n_matched ≤ min(n_a, n_b).")
        self.score: str = score
        self.n_cases, self.n_a, self.n_b = int(n_cases), int(n_a), int(n_b)
        self.n_matched = int(n_matched)
        self.score_sum, self.case_f1_sum = float(score_sum), float(case_f1_sum)

    @classmethod
    def from_match(cls, result: MatchResult) -> DetectionStats:
        """Statistics of one case's matching.

        Parameters
        ----------
        result
            Output of a ``match_*`` function.

        Returns
        -------
        DetectionStats
            Counts of this one case.
        """
        return cls(
            result.score,
            1,
            result.n_a,
            result.n_b,
            result.n_matched,
            float(result.scores.sum()),
            result.f1,
        )

    def __add__(self, other: object) -> DetectionStats:
        if not isinstance(other, DetectionStats):
            return NotImplemented
        if self.score != other.score:
            raise IncompatibleStatsError(
                f"cannot add detection statistics scored by {self.score!r} and "
                f"{other.score!r}; keep boxes/polygons and keypoints apart.",
                field="score",
            )
        return DetectionStats(
            self.score,
            self.n_cases + other.n_cases,
            self.n_a + other.n_a,
            self.n_b + other.n_b,
            self.n_matched + other.n_matched,
            self.score_sum + other.score_sum,
            self.case_f1_sum + other.case_f1_sum,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DetectionStats):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    def __repr__(self) -> str:
        return (
            f"DetectionStats(score={self.score!r}, n_cases={self.n_cases}, n_a={self.n_a}, "
            f"n_b={self.n_b}, n_matched={self.n_matched})"
        )

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """Serialize to plain numpy arrays (0-d arrays, ``score`` as a string array).

        Returns
        -------
        dict
            One array per field.
        """
        return {s: np.asarray(getattr(self, s)) for s in self.__slots__}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]]) -> DetectionStats:
        """Rebuild from :meth:`to_arrays` output.

        Parameters
        ----------
        arrays
            The mapping :meth:`to_arrays` produced.

        Returns
        -------
        DetectionStats
            The statistics.
        """
        return cls(
            str(arrays["score"]),
            int(arrays["n_cases"]),
            int(arrays["n_a"]),
            int(arrays["n_b"]),
            int(arrays["n_matched"]),
            float(arrays["score_sum"]),
            float(arrays["case_f1_sum"]),
        )

    def f1(self) -> float:
        """Pooled symmetric F1 ``2Σmatched / Σ(n_a + n_b)`` (1.0 if no object at all).

        Returns
        -------
        float
            Pooled F1.
        """
        total = self.n_a + self.n_b
        return 1.0 if total == 0 else 2.0 * self.n_matched / total

    def mean_case_f1(self) -> float:
        """Mean per-case F1 (a case where neither reader marked anything counts 1.0).

        Returns
        -------
        float
            Mean F1.

        Raises
        ------
        EmptyInputError
            If no case was summed.
        """
        if not self.n_cases:
            raise EmptyInputError(
                "no case was summed, so there is no per-case F1 to average; add the "
                "statistics of at least one case."
            )
        return self.case_f1_sum / self.n_cases

    def mean_matched_score(self) -> float:
        """Mean IoU (or distance in mm) of matched pairs.

        Returns
        -------
        float
            Mean score.

        Raises
        ------
        EmptyInputError
            If no pair was matched: there is no matched score to average. :meth:`f1`
            is still defined (0.0, or 1.0 when no reader marked anything).
        """
        if not self.n_matched:
            raise EmptyInputError(
                "no pair of findings was matched, so there is no matched IoU or distance "
                "to average; report f1() instead, which is defined."
            )
        return self.score_sum / self.n_matched
