"""What the runner needs of a model: probabilities for a task's images.

A :class:`Predictor` turns one task's volume (slices in the task's reading
order, modality values such as HU) into a :class:`ModelOutput`. The torch-backed
implementation lives in :mod:`node.assist.torch_predictor`, the one module of
this package that imports torch; everything else works on numpy arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from node.assist.records import ModelRef

__all__ = ["ModelOutput", "Predictor"]


@dataclass(frozen=True)
class ModelOutput:
    """A model's output on one task.

    Attributes
    ----------
    masks
        Mask label → per-voxel probability, shape ``(slices, rows, columns)`` in the
        task's slice order and the series' own matrix (the MC mean under dropout).
    classes
        Classification label → category code → probability.
    mask_mean_entropy
        Under MC dropout: mask label → the per-voxel mean of each pass's entropy (bits).
    class_mean_entropy
        Under MC dropout: classification label → the mean of each pass's entropy (bits).
    mc_passes
        Forward passes behind the figures (1 without MC dropout).
    """

    masks: Mapping[str, npt.NDArray[np.floating[Any]]] = field(default_factory=dict)
    classes: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    mask_mean_entropy: Mapping[str, npt.NDArray[np.floating[Any]]] = field(default_factory=dict)
    class_mean_entropy: Mapping[str, float] = field(default_factory=dict)
    mc_passes: int = 1


class Predictor(Protocol):
    """A loaded model that predicts one task at a time (kept loaded for a whole run)."""

    @property
    def model(self) -> ModelRef:
        """The model version it runs."""
        ...

    @property
    def labels(self) -> tuple[str, ...]:
        """The guideline labels it predicts."""
        ...

    def predict(self, volume: npt.NDArray[np.floating[Any]]) -> ModelOutput:
        """Probabilities for a ``(slices, rows, columns)`` volume of modality values."""
        ...
