r"""Active learning: rank tasks by model uncertainty and predicted reader disagreement.

Only the model's output on the task's own images enters the ranking, never the
task's annotations, so the worklist order it sets tells a reader nothing about
what the other readers drew (blinding holds).

For a **mask label** with per-voxel probabilities :math:`p_i`:

* *uncertainty* :math:`u` is the mean binary entropy (bits, in [0, 1]) over the
  voxels the model gives any weight, :math:`R = \{i : p_i \ge 0.05\}`; with MC
  dropout it is instead the mean mutual information (BALD)
  :math:`h(\bar p_i) - \overline{h(p_i)}` over the same voxels. An empty
  :math:`R` (the model is sure there is nothing) gives 0.
* *predicted disagreement* :math:`d = \sum_i p_i(1 - p_i) / \sum_i p_i`. It is
  one minus the expected Dice between two readers who each mark voxel
  :math:`i` independently with probability :math:`p_i`
  (:math:`E|A \cap B| = \sum p_i^2`, :math:`E|A| = E|B| = \sum p_i`), so it
  grows with the width of the uncertain band at the lesion's boundary relative
  to the lesion. With :math:`\sum p_i < 1` voxel both readers are expected to
  mark nothing: 0.

For a **classification label** with class probabilities :math:`p_c` over
:math:`C` classes: :math:`u = H(p) / \log_2 C` (or the normalised mutual
information under MC dropout), and :math:`d = (1 - \sum_c p_c^2) / (1 - 1/C)`,
the chance that two readers drawing their answer from :math:`p` disagree,
scaled to [0, 1].

A task's :math:`u` and :math:`d` are the means over its predicted labels; its
score is :math:`s = (w_u u + w_d d) / (w_u + w_d)` (default weights 1 and 1),
and its worklist priority ``round(1000 s)`` (higher first).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from node.assist.records import TaskScore

__all__ = [
    "REGION_FLOOR",
    "LabelFigures",
    "RankingWeights",
    "binary_entropy",
    "class_disagreement",
    "class_uncertainty",
    "mask_disagreement",
    "mask_uncertainty",
    "priority_of",
    "score_task",
]

REGION_FLOOR = 0.05
"""Voxels below this probability do not count towards a mask's uncertainty."""

_CHUNK = 16  # slices per step: bounds the temporaries to a few slices' worth


def binary_entropy(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Entropy in bits of Bernoulli(``p``), elementwise (0 at 0 and 1)."""
    q = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(q * np.log2(q) + (1.0 - q) * np.log2(1.0 - q))
    result: npt.NDArray[np.float64] = np.nan_to_num(h, nan=0.0)
    return result


def mask_uncertainty(
    probability: npt.ArrayLike, mean_entropy: npt.ArrayLike | None = None
) -> float:
    """Mean entropy (or, given MC dropout's mean per-pass entropy, mutual information).

    Parameters
    ----------
    probability
        Per-voxel probability of the label (the MC mean under dropout), any shape.
    mean_entropy
        Under MC dropout, the per-voxel mean over passes of each pass's entropy;
        same shape as ``probability``.
    """
    p = np.asarray(probability)
    e = None if mean_entropy is None else np.asarray(mean_entropy)
    if e is not None and e.shape != p.shape:
        raise ValueError(f"mean_entropy has shape {e.shape}, probability {p.shape}")
    flat_p = p.reshape(p.shape[0], -1) if p.ndim > 1 else p.reshape(1, -1)
    flat_e = None if e is None else e.reshape(flat_p.shape)
    total = 0.0
    count = 0
    for start in range(0, flat_p.shape[0], _CHUNK):
        chunk = flat_p[start : start + _CHUNK]
        region = chunk >= REGION_FLOOR
        n = int(region.sum())
        if not n:
            continue
        h = binary_entropy(chunk[region])
        if flat_e is not None:
            h = np.clip(h - flat_e[start : start + _CHUNK][region], 0.0, 1.0)
        total += float(h.sum())
        count += n
    return total / count if count else 0.0


def mask_disagreement(probability: npt.ArrayLike) -> float:
    """One minus the expected Dice of two readers drawn from the per-voxel probabilities."""
    p = np.asarray(probability)
    flat = p.reshape(p.shape[0], -1) if p.ndim > 1 else p.reshape(1, -1)
    mass = 0.0
    spread = 0.0
    for start in range(0, flat.shape[0], _CHUNK):
        chunk = np.clip(flat[start : start + _CHUNK].astype(np.float64), 0.0, 1.0)
        mass += float(chunk.sum())
        spread += float((chunk * (1.0 - chunk)).sum())
    if mass < 1.0:
        return 0.0
    return min(1.0, spread / mass)


def _normalised(probabilities: Sequence[float]) -> npt.NDArray[np.float64]:
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, None)
    if p.ndim != 1 or p.size < 2 or not p.sum() > 0:
        raise ValueError("class probabilities need at least two classes and a positive sum")
    result: npt.NDArray[np.float64] = p / p.sum()
    return result


def class_uncertainty(probabilities: Sequence[float], mean_entropy: float | None = None) -> float:
    """Normalised entropy of the class probabilities (mutual information under MC dropout)."""
    p = _normalised(probabilities)
    nz = p[p > 0]
    h = float(-(nz * np.log2(nz)).sum())
    if mean_entropy is not None:
        h = max(0.0, h - mean_entropy)
    return min(1.0, h / math.log2(p.size))


def class_disagreement(probabilities: Sequence[float]) -> float:
    """Chance that two readers drawing from the probabilities disagree, scaled to [0, 1]."""
    p = _normalised(probabilities)
    return float(min(1.0, (1.0 - float((p**2).sum())) / (1.0 - 1.0 / p.size)))


@dataclass(frozen=True)
class LabelFigures:
    """One label's uncertainty and predicted disagreement in one task."""

    label: str
    kind: str
    uncertainty: float
    disagreement: float
    method: str

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "label": self.label,
            "kind": self.kind,
            "uncertainty": self.uncertainty,
            "disagreement": self.disagreement,
            "method": self.method,
        }


@dataclass(frozen=True)
class RankingWeights:
    """How much uncertainty and predicted disagreement weigh in a task's score."""

    uncertainty: float = 1.0
    disagreement: float = 1.0

    def __post_init__(self) -> None:
        if (
            self.uncertainty < 0
            or self.disagreement < 0
            or self.uncertainty + self.disagreement <= 0
        ):
            raise ValueError(
                "ranking weights must be non-negative and not both zero; got "
                f"uncertainty={self.uncertainty}, disagreement={self.disagreement}"
            )


def priority_of(score: float) -> int:
    """A worklist priority (higher first) from a score in [0, 1]."""
    return round(1000 * min(1.0, max(0.0, score)))


def score_task(
    task_id: int, figures: Sequence[LabelFigures], weights: RankingWeights | None = None
) -> TaskScore:
    """Combine a task's per-label figures into its score and priority."""
    weights = weights or RankingWeights()
    if figures:
        u = float(np.mean([f.uncertainty for f in figures]))
        d = float(np.mean([f.disagreement for f in figures]))
    else:
        u = d = 0.0
    s = (weights.uncertainty * u + weights.disagreement * d) / (
        weights.uncertainty + weights.disagreement
    )
    detail: Mapping[str, Any] = {"labels": [f.to_json() for f in figures]}
    return TaskScore(
        task_id=task_id,
        uncertainty=u,
        disagreement=d,
        score=s,
        priority=priority_of(s),
        detail=dict(detail),
    )
